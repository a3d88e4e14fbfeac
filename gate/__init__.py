"""The gate: the only way into the Prefect UI and API for people.

A small ASGI service in front of the Prefect server. People sign in on its Vietnamese pages
with a one-time code dondoc mails them (`gate.signin`), and every request is asked of dondoc's
sessions (`gate.session`); of a signed-in person's requests it lets through only what their
role's row of `gate.routes.ROUTES` allows. It adds the Prefect server's shared credential (its
auth string) upstream and never hands it back; every run a person starts carries their user
name and a grant dondoc gave for it, and a run is resumed only by who started it, with a grant
for the answer sent (`gate.app`). Its own page of a person's work (`gate.work`) starts and
resumes their submission runs through those same checks, showing the run's form itself.
Workers and flows talk to the Prefect server directly, never through the gate."""
