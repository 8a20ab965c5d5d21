"""The cloud batch training job. Built by later issues."""
