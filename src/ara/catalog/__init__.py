"""The resource catalog: config items, checks and components that playbooks select, template and target."""
