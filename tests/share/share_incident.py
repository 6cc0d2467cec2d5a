"""The article's incident as a timeline, and hostile names, for the share tests."""

from __future__ import annotations

from pgmedic.report.timeline import ACTION, FINDING, SNAPSHOT, STARTED, STEP, Event, Timeline

HOSTILE = ("<!channel>", "@here", "@channel", "@everyone", "[bold]x[/bold]", "*x*", "_x_",
           "`x`", "~x~", "<@U123>", "[click](https://evil.example)", "a\x1b[31mred\x07")
SECRET = "s3cr3tT0kenXYZ"


def incident_events(app: str = "checkout-api", operator: str = "alice") -> list[Event]:
    """The article's incident as the runbook engineers record it (schema in summary.py)."""
    return [
        Event(1000.0, STARTED, "session started", {
            "host": "db.internal", "port": 5432, "database": "app", "version": "16.2",
            "operator": operator}),
        Event(1001.0, SNAPSHOT, "saturation", {
            "used": 96, "usable": 97, "max_connections": 100, "superuser_reserved": 3,
            "reserved": 0, "level": "fail"}),
        Event(1010.0, FINDING, "slot exhaustion confirmed", {
            "step_id": "confirm", "verdict": "fail", "summary": "96 of 97 slots used"}),
        Event(1020.0, FINDING, "too many pools", {
            "step_id": "pools", "verdict": "fail",
            "summary": f"{app} holds 90 connections from 2 replicas: about 4-5 pools of 10 "
                       "per process, expected 1",
            "findings": [f"{app}: 90"],
            "offender": {"service": app, "connections": 90, "idle": 84, "replicas": 2,
                         "estimated_pools_per_replica": 4.5}}),
        Event(1030.0, ACTION, f"terminated 40 idle connections of {app}", {
            "action": "terminate", "app": app,
            "counts": {"requested": 42, "terminated": 40, "skipped": 2, "failed": 0},
            "what": "idle > 60 s", "operator": operator, "freed": 40, "refill": 12}),
        Event(1040.0, FINDING, "budget over", {
            "step_id": "budget", "verdict": "fail", "summary": "160 needed, 90 available",
            "budget": {"fits": False, "demand": 160, "capacity": 90,
                       "pool_size_that_fits": 5}}),
        Event(1050.0, STEP, "checklist", {
            "step_id": "checklist", "status": "done",
            "checklist": [{"text": "One shared pool per process", "done": True},
                          {"text": "Pool size from PG_POOL_MAX_SIZE", "done": False}]}),
    ]


def incident(app: str = "checkout-api", operator: str = "alice") -> Timeline:
    return Timeline("20261126T021400-1", incident_events(app, operator))
