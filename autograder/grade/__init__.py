"""Step 3, grade: outputs → scores and feedback, in the trusted process."""
