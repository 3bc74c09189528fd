"""Click commands, one module per area; ``tracecode.cli`` loads a module when its command runs."""
