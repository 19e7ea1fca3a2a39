"""Every domain's ORM models, imported so ``metadata`` is complete for Alembic (one history for all domains)."""

from __future__ import annotations

from ara.apps import models as apps_models  # noqa: F401
from ara.catalog import models as catalog_models  # noqa: F401
from ara.db.base import Base
from ara.playbooks import models as playbooks_models  # noqa: F401
from ara.records import models as records_models  # noqa: F401
from ara.runtime import models as runtime_models  # noqa: F401
from ara.runtime.automations import models as automation_models  # noqa: F401
from ara.users import models as users_models  # noqa: F401

metadata = Base.metadata
