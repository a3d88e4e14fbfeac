"""The gate: the only way into the Prefect UI and API for people.

A small ASGI service in front of the Prefect server. It lets through only signed-in people,
and of their requests only what their role's row of `gate.routes.ROUTES` allows; it adds the
Prefect server's shared credential (its auth string) upstream and never hands it back, and it
stamps every run a person starts with who they are. Workers and flows talk to the Prefect
server directly, never through the gate."""
