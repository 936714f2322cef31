"""chainrule.checkpoint: safetensors save and load, torch weights both ways."""
