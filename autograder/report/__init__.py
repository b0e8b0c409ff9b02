"""Step 4, report: scores → grades.csv, results/<student>.json, the summary (and PDFs)."""
