"""Use cases that the command line and the flows both call, each one unit of work: the
settings are turned into an engine, a calendar and channels here, once. One module per topic,
so a command imports the storage its topic needs and no more:

- `settings`: the settings from the environment;
- `registers`: the unit and actor registers;
- `directives`: publishing, amending and withdrawing, opening periods, what is published;
- `records`: submissions and the lead office's decisions;
- `desks`: a unit's list and forms, the review desk;
- `listing`: obligations listed and counted;
- `mail`: the chase, the monthly summary, the outbox;
- `reports`: rates, the matrix, the consolidated reports;
- `feeds`: each unit's calendar feed and its address;
- `log`: verifying, rebuilding and anchoring the log;
and here, the checks every command makes of its settings and its day and obligation id.

The types callers need from the layers below are re-exported by the module of their topic, so
`cli/` and `flows/` import these modules and never the storage modules themselves
(import-linter checks it). The documents (letters, dispatches, reports, matrices: docxtpl,
openpyxl and Jinja2) are imported by the use cases that write them: most commands write none."""
