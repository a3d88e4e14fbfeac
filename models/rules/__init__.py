"""Pure rules: periods, working days, status, the ladder, the obligation's state machine,
rights, text and Vietnamese wording. No database, no files, no clock."""
