"""The colour-hint tool: editor, overlay, panel, preview and persistence."""
