"""The hidden graders: instructor-only pytest files. Never copied into a release or a sandbox."""
