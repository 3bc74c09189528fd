"""Click commands, one module per area; ``tracecode.cli`` adds them to the group."""
