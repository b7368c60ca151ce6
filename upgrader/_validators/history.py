# Generated from history.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "f8af84a1758b78d36707d7d85dc8357cfafce137d67a0cfde3bca020ce9d8d9a"
VERSION = "2.22.3"
from decimal import Decimal
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


NoneType = type(None)

def validate_https___upgrader_invalid_state_history_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/history.schema.json', 'title': 'one line of state/<project>/history.jsonl', 'description': 'A finished run: appended once when it completes, rolls back or fails.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'id', 'from', 'to', 'outcome', 'started_at', 'finished_at', 'downtime_seconds'], 'properties': {'schema': {'const': 1}, 'id': {'type': 'string'}, 'workflow': {'type': 'string'}, 'from': {'type': ['string', 'null']}, 'to': {'type': ['string', 'null']}, 'outcome': {'enum': ['completed', 'rolled_back', 'failed']}, 'started_at': {'type': 'string', 'format': 'date-time'}, 'finished_at': {'type': 'string', 'format': 'date-time'}, 'downtime_seconds': {'type': ['number', 'null'], 'minimum': 0, 'description': 'How long the server did not serve, when the workflow stopped it.'}, 'error': {'type': ['string', 'null']}, 'snapshot': {'type': ['string', 'null'], 'description': 'The run id of the data snapshot the run took (snapshots/<project>/<id>/), or null.'}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'id', 'from', 'to', 'outcome', 'started_at', 'finished_at', 'downtime_seconds']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/history.schema.json', 'title': 'one line of state/<project>/history.jsonl', 'description': 'A finished run: appended once when it completes, rolls back or fails.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'id', 'from', 'to', 'outcome', 'started_at', 'finished_at', 'downtime_seconds'], 'properties': {'schema': {'const': 1}, 'id': {'type': 'string'}, 'workflow': {'type': 'string'}, 'from': {'type': ['string', 'null']}, 'to': {'type': ['string', 'null']}, 'outcome': {'enum': ['completed', 'rolled_back', 'failed']}, 'started_at': {'type': 'string', 'format': 'date-time'}, 'finished_at': {'type': 'string', 'format': 'date-time'}, 'downtime_seconds': {'type': ['number', 'null'], 'minimum': 0, 'description': 'How long the server did not serve, when the workflow stopped it.'}, 'error': {'type': ['string', 'null']}, 'snapshot': {'type': ['string', 'null'], 'description': 'The run id of the data snapshot the run took (snapshots/<project>/<id>/), or null.'}}}, rule='required')
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not (isinstance(data__schema, (int, float)) and not isinstance(data__schema, bool) and data__schema == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be same as const definition: 1", value=data__schema, name="" + (name_prefix or "data") + ".schema", definition={'const': 1}, rule='const')
        if "id" in data_keys:
            data_keys.remove("id")
            data__id = data["id"]
            if not isinstance(data__id, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".id must be string", value=data__id, name="" + (name_prefix or "data") + ".id", definition={'type': 'string'}, rule='type')
        if "workflow" in data_keys:
            data_keys.remove("workflow")
            data__workflow = data["workflow"]
            if not isinstance(data__workflow, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow must be string", value=data__workflow, name="" + (name_prefix or "data") + ".workflow", definition={'type': 'string'}, rule='type')
        if "from" in data_keys:
            data_keys.remove("from")
            data__from = data["from"]
            if not isinstance(data__from, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".from must be string or null", value=data__from, name="" + (name_prefix or "data") + ".from", definition={'type': ['string', 'null']}, rule='type')
        if "to" in data_keys:
            data_keys.remove("to")
            data__to = data["to"]
            if not isinstance(data__to, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".to must be string or null", value=data__to, name="" + (name_prefix or "data") + ".to", definition={'type': ['string', 'null']}, rule='type')
        if "outcome" in data_keys:
            data_keys.remove("outcome")
            data__outcome = data["outcome"]
            if not (isinstance(data__outcome, str) and data__outcome == 'completed' or isinstance(data__outcome, str) and data__outcome == 'rolled_back' or isinstance(data__outcome, str) and data__outcome == 'failed'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".outcome must be one of ['completed', 'rolled_back', 'failed']", value=data__outcome, name="" + (name_prefix or "data") + ".outcome", definition={'enum': ['completed', 'rolled_back', 'failed']}, rule='enum')
        if "started_at" in data_keys:
            data_keys.remove("started_at")
            data__startedat = data["started_at"]
            if not isinstance(data__startedat, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".started_at must be string", value=data__startedat, name="" + (name_prefix or "data") + ".started_at", definition={'type': 'string', 'format': 'date-time'}, rule='type')
        if "finished_at" in data_keys:
            data_keys.remove("finished_at")
            data__finishedat = data["finished_at"]
            if not isinstance(data__finishedat, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".finished_at must be string", value=data__finishedat, name="" + (name_prefix or "data") + ".finished_at", definition={'type': 'string', 'format': 'date-time'}, rule='type')
        if "downtime_seconds" in data_keys:
            data_keys.remove("downtime_seconds")
            data__downtimeseconds = data["downtime_seconds"]
            if not isinstance(data__downtimeseconds, (int, float, Decimal, NoneType)) or isinstance(data__downtimeseconds, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".downtime_seconds must be number or null", value=data__downtimeseconds, name="" + (name_prefix or "data") + ".downtime_seconds", definition={'type': ['number', 'null'], 'minimum': 0, 'description': 'How long the server did not serve, when the workflow stopped it.'}, rule='type')
            if isinstance(data__downtimeseconds, (int, float, Decimal)) and not isinstance(data__downtimeseconds, bool):
                if data__downtimeseconds < 0:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".downtime_seconds must be bigger than or equal to 0", value=data__downtimeseconds, name="" + (name_prefix or "data") + ".downtime_seconds", definition={'type': ['number', 'null'], 'minimum': 0, 'description': 'How long the server did not serve, when the workflow stopped it.'}, rule='minimum')
        if "error" in data_keys:
            data_keys.remove("error")
            data__error = data["error"]
            if not isinstance(data__error, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".error must be string or null", value=data__error, name="" + (name_prefix or "data") + ".error", definition={'type': ['string', 'null']}, rule='type')
        if "snapshot" in data_keys:
            data_keys.remove("snapshot")
            data__snapshot = data["snapshot"]
            if not isinstance(data__snapshot, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot must be string or null", value=data__snapshot, name="" + (name_prefix or "data") + ".snapshot", definition={'type': ['string', 'null'], 'description': 'The run id of the data snapshot the run took (snapshots/<project>/<id>/), or null.'}, rule='type')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/history.schema.json', 'title': 'one line of state/<project>/history.jsonl', 'description': 'A finished run: appended once when it completes, rolls back or fails.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'id', 'from', 'to', 'outcome', 'started_at', 'finished_at', 'downtime_seconds'], 'properties': {'schema': {'const': 1}, 'id': {'type': 'string'}, 'workflow': {'type': 'string'}, 'from': {'type': ['string', 'null']}, 'to': {'type': ['string', 'null']}, 'outcome': {'enum': ['completed', 'rolled_back', 'failed']}, 'started_at': {'type': 'string', 'format': 'date-time'}, 'finished_at': {'type': 'string', 'format': 'date-time'}, 'downtime_seconds': {'type': ['number', 'null'], 'minimum': 0, 'description': 'How long the server did not serve, when the workflow stopped it.'}, 'error': {'type': ['string', 'null']}, 'snapshot': {'type': ['string', 'null'], 'description': 'The run id of the data snapshot the run took (snapshots/<project>/<id>/), or null.'}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_state_history_schema_json
