"""Stored chats (``chatId`` on the wire): the OpenAI messages of every turn, in order, so a later turn continues
where the last one ended. A chat belongs to one user: anyone else's ``chatId`` is 404. A client may name a new
chat itself (the Vercel AI SDK makes its ids client-side); with none, the server makes one and returns it.

Functions take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.errors import NotFound, ValidationFailed
from ara.runtime.models import Conversation, ConversationMessage

MAX_ID_CHARS = 255


def check_chat_id(chat_id: Any, field: str) -> str | None:
    """``None`` for a new chat; the id otherwise (printable, at most 255 characters)."""
    if chat_id is None or chat_id == "":
        return None
    if not isinstance(chat_id, str) or not chat_id.strip():
        raise ValidationFailed({field: ["must be a non-empty string"]})
    if len(chat_id) > MAX_ID_CHARS or not chat_id.isprintable():
        raise ValidationFailed({field: [f"must be printable and at most {MAX_ID_CHARS} characters"]})
    return chat_id


def open_conversation(session: Session, *, user_id: int, chat_id: str | None, session_id: str) -> Conversation:
    """The caller's chat ``chat_id`` (created under that id when nobody has it yet), or a new chat. The row is
    locked for the rest of the transaction, so two turns of one chat append in turn."""
    if chat_id is not None:
        found = session.scalar(select(Conversation).where(Conversation.id == chat_id).with_for_update())
        if found is not None:
            if found.user_id != user_id:
                raise NotFound(f"no conversation {chat_id!r}")
            found.session_id = session_id
            return found
    conversation = Conversation(user_id=user_id, session_id=session_id)
    if chat_id is None:  # a fresh random id: nothing to collide with
        session.add(conversation)
        session.flush()
        return conversation
    conversation.id = chat_id
    try:
        with session.begin_nested():
            session.add(conversation)
            session.flush()
    except IntegrityError:
        # Another request created this id meanwhile: theirs if it is the same user's, else still not ours.
        return open_conversation(session, user_id=user_id, chat_id=chat_id, session_id=session_id)
    return conversation


def conversation_history(session: Session, user_id: int, chat_id: str | None) -> list[dict[str, Any]]:
    """The stored messages of the caller's chat ``chat_id`` (none for a new chat, or one nobody has yet); anyone
    else's chat is 404."""
    if chat_id is None:
        return []
    owner = session.scalar(select(Conversation.user_id).where(Conversation.id == chat_id))
    if owner is None:
        return []
    if owner != user_id:
        raise NotFound(f"no conversation {chat_id!r}")
    return load_messages(session, chat_id)


def load_messages(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ConversationMessage.message)
        .where(ConversationMessage.conversation_id == conversation_id)
        .order_by(ConversationMessage.seq)
    )
    return [dict(message) for message in rows]


def append_messages(session: Session, conversation_id: str, messages: Iterable[dict[str, Any]]) -> None:
    """After the stored ones. The first statement updates the conversation's row, which locks it until the commit
    (PostgreSQL; SQLite has one writer anyway): two turns of one chat appending at once number theirs in turn.
    Plain statements built once, on the session's connection: a turn appends after every tool call and at its end."""
    batch = list(messages)
    if not batch:
        return
    connection = session.connection()
    now = utcnow()
    touched = connection.execute(_TOUCH, {"conversation_id": conversation_id, "now": now})
    if not touched.rowcount:
        raise NotFound(f"no conversation {conversation_id!r}")
    last = connection.execute(_LAST_SEQ, {"conversation_id": conversation_id}).scalar()
    start = 0 if last is None else last + 1
    rows = [
        {"conversation_id": conversation_id, "seq": start + offset, "message": message, "created_at": now}
        for offset, message in enumerate(batch)
    ]
    connection.execute(_INSERT, rows)


_CONVERSATIONS: Table = Conversation.__table__
_MESSAGES: Table = ConversationMessage.__table__
_TOUCH = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
    .values(updated_at=bindparam("now"))
)
_LAST_SEQ = select(func.max(_MESSAGES.c.seq)).where(_MESSAGES.c.conversation_id == bindparam("conversation_id"))
_INSERT = insert(_MESSAGES)


def recent_conversations(session: Session, user_id: int, *, limit: int) -> list[Conversation]:
    """The caller's latest chats, most recently used first (the chat page's list)."""
    query = select(Conversation).where(Conversation.user_id == user_id)
    return list(session.scalars(query.order_by(Conversation.updated_at.desc(), Conversation.id).limit(limit)))


def last_messages(session: Session, user_id: int, chat_id: str, *, limit: int) -> list[dict[str, Any]]:
    """The caller's chat's last ``limit`` messages, in order (a page shows the end of a long chat, not all of it);
    none for a chat nobody has, 404 for anyone else's (as ``conversation_history``)."""
    owner = session.scalar(select(Conversation.user_id).where(Conversation.id == chat_id))
    if owner is None:
        return []
    if owner != user_id:
        raise NotFound(f"no conversation {chat_id!r}")
    rows = session.scalars(
        select(ConversationMessage.message)
        .where(ConversationMessage.conversation_id == chat_id)
        .order_by(ConversationMessage.seq.desc())
        .limit(limit)
    )
    return [dict(message) for message in reversed(list(rows))]
