"""A database password never reaches Prefect's database through a deployment run either.

A flow called directly masks `db` as Prefect stores its parameters (flows.common.ConcernsFlow; tests/test_flows.py
reads the stored run back). A deployment run is created by Prefect's server from what the UI or the API sends:
the server checks the parameters against the deployment's parameter schema before it stores the run
(`enforce_parameter_schema`, prefect/server/api/deployments.py, create_flow_run_from_deployment). This checks
each flow's schema with the same function the server calls (prefect.utilities.schema_tools.validate).
"""

from __future__ import annotations

import pytest
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate
from prefect.utilities.schema_tools.validation import ValidationError

from flows.annual_categorisation import annual_categorisation_flow, categorisation_proposal_authority_flow
from flows.data_import import data_import_flow
from flows.deadline_check import deadline_check_flow
from flows.hmi_monitoring_reminders import hmi_reminders_flow
from flows.send_notifications import send_notifications_flow
from flows.termly_review import termly_review_authority_flow, termly_review_flow

FLOWS = [annual_categorisation_flow, data_import_flow, deadline_check_flow, hmi_reminders_flow,
         send_notifications_flow, termly_review_flow, termly_review_authority_flow,
         categorisation_proposal_authority_flow]
FANNED_OUT = [annual_categorisation_flow, termly_review_flow]


def _schema(flow) -> dict:
    return parameter_schema(flow.fn).model_dump_for_openapi()


def _given(flow, db) -> dict:
    base = ({"kind": "ofsted", "path": "/srv/concerns/ofsted.csv"} if flow is data_import_flow
            else {"las": ["Luton"]} if flow is termly_review_authority_flow
            else {"la": "Luton"} if flow is categorisation_proposal_authority_flow else {})
    return {**base, "db": db}


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
@pytest.mark.parametrize("db", ["postgresql+psycopg://concerns:s3cret@dbhost/concerns",
                                "postgresql+psycopg://concerns@dbhost/concerns?password=s3cret",
                                "postgresql://concerns:s3cret@dbhost:5432/concerns?sslmode=require"])
def test_a_deployment_run_with_a_password_in_db_is_refused_before_prefect_stores_it(flow, db):
    with pytest.raises(ValidationError, match="db"):
        validate(_given(flow, db), _schema(flow), raise_on_error=True)


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
@pytest.mark.parametrize("db", [None, "postgresql+psycopg://concerns@dbhost/concerns", "sqlite:////srv/concerns/c.db",
                                "postgresql+psycopg:///concerns?host=/var/run/postgresql"])
def test_a_deployment_run_with_a_database_url_without_a_password_is_accepted(flow, db):
    validate(_given(flow, db), _schema(flow), raise_on_error=True)


@pytest.mark.parametrize("flow", FANNED_OUT, ids=lambda f: f.name)
@pytest.mark.parametrize("given", [{"fan_out": "threads"}, {"fan_out": ""}, {"processes": 0}, {"processes": 17},
                                   {"fan_out": "processes", "processes": -2}])
def test_a_deployment_run_with_a_fan_out_the_flow_does_not_know_is_refused_before_prefect_stores_it(flow, given):
    with pytest.raises(ValidationError, match="fan_out|processes"):
        validate(given, _schema(flow), raise_on_error=True)


@pytest.mark.parametrize("flow", FANNED_OUT, ids=lambda f: f.name)
@pytest.mark.parametrize("given", [{"fan_out": "one-process"}, {"fan_out": "processes", "processes": 1},
                                   {"fan_out": "processes", "processes": 16}, {"fan_out": "deployments"}])
def test_a_deployment_run_with_each_fan_out_is_accepted(flow, given):
    validate(given, _schema(flow), raise_on_error=True)
