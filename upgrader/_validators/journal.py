# Generated from journal.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "1c874cfc38ca19c9ae6deaa855d35d539c3aaaee51b733aebeb5b4a83f776e91"
VERSION = "2.22.3"
from decimal import Decimal
import re
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^[a-z_]+$': re.compile('^[a-z_]+\\Z')
}

NoneType = type(None)

def validate_https___upgrader_invalid_state_journal_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/journal.schema.json', 'title': 'one line of state/<project>/journal.jsonl', 'description': 'An event of a run, appended (and fsynced) as it happens.', 'type': 'object', 'additionalProperties': False, 'required': ['ts', 'run_id', 'event', 'step', 'state', 'detail'], 'properties': {'ts': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': 'string'}, 'event': {'type': 'string', 'pattern': '^[a-z_]+$', 'description': 'run_started, step_started, step_retry, step_output, step_done, step_failed, paused, rollback_started, undo_started, undo_done, undo_failed, rolled_back, completed, failed, resumed.'}, 'step': {'type': ['string', 'null']}, 'state': {'type': 'string'}, 'detail': {'type': ['string', 'object', 'null']}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['ts', 'run_id', 'event', 'step', 'state', 'detail']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/journal.schema.json', 'title': 'one line of state/<project>/journal.jsonl', 'description': 'An event of a run, appended (and fsynced) as it happens.', 'type': 'object', 'additionalProperties': False, 'required': ['ts', 'run_id', 'event', 'step', 'state', 'detail'], 'properties': {'ts': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': 'string'}, 'event': {'type': 'string', 'pattern': '^[a-z_]+$', 'description': 'run_started, step_started, step_retry, step_output, step_done, step_failed, paused, rollback_started, undo_started, undo_done, undo_failed, rolled_back, completed, failed, resumed.'}, 'step': {'type': ['string', 'null']}, 'state': {'type': 'string'}, 'detail': {'type': ['string', 'object', 'null']}}}, rule='required')
        data_keys = set(data.keys())
        if "ts" in data_keys:
            data_keys.remove("ts")
            data__ts = data["ts"]
            if not isinstance(data__ts, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".ts must be string", value=data__ts, name="" + (name_prefix or "data") + ".ts", definition={'type': 'string', 'format': 'date-time'}, rule='type')
        if "run_id" in data_keys:
            data_keys.remove("run_id")
            data__runid = data["run_id"]
            if not isinstance(data__runid, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".run_id must be string", value=data__runid, name="" + (name_prefix or "data") + ".run_id", definition={'type': 'string'}, rule='type')
        if "event" in data_keys:
            data_keys.remove("event")
            data__event = data["event"]
            if not isinstance(data__event, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".event must be string", value=data__event, name="" + (name_prefix or "data") + ".event", definition={'type': 'string', 'pattern': '^[a-z_]+$', 'description': 'run_started, step_started, step_retry, step_output, step_done, step_failed, paused, rollback_started, undo_started, undo_done, undo_failed, rolled_back, completed, failed, resumed.'}, rule='type')
            if isinstance(data__event, str):
                if not REGEX_PATTERNS['^[a-z_]+$'].search(data__event):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".event must match pattern ^[a-z_]+$", value=data__event, name="" + (name_prefix or "data") + ".event", definition={'type': 'string', 'pattern': '^[a-z_]+$', 'description': 'run_started, step_started, step_retry, step_output, step_done, step_failed, paused, rollback_started, undo_started, undo_done, undo_failed, rolled_back, completed, failed, resumed.'}, rule='pattern')
        if "step" in data_keys:
            data_keys.remove("step")
            data__step = data["step"]
            if not isinstance(data__step, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".step must be string or null", value=data__step, name="" + (name_prefix or "data") + ".step", definition={'type': ['string', 'null']}, rule='type')
        if "state" in data_keys:
            data_keys.remove("state")
            data__state = data["state"]
            if not isinstance(data__state, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".state must be string", value=data__state, name="" + (name_prefix or "data") + ".state", definition={'type': 'string'}, rule='type')
        if "detail" in data_keys:
            data_keys.remove("detail")
            data__detail = data["detail"]
            if not isinstance(data__detail, (str, dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".detail must be string or object or null", value=data__detail, name="" + (name_prefix or "data") + ".detail", definition={'type': ['string', 'object', 'null']}, rule='type')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/journal.schema.json', 'title': 'one line of state/<project>/journal.jsonl', 'description': 'An event of a run, appended (and fsynced) as it happens.', 'type': 'object', 'additionalProperties': False, 'required': ['ts', 'run_id', 'event', 'step', 'state', 'detail'], 'properties': {'ts': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': 'string'}, 'event': {'type': 'string', 'pattern': '^[a-z_]+$', 'description': 'run_started, step_started, step_retry, step_output, step_done, step_failed, paused, rollback_started, undo_started, undo_done, undo_failed, rolled_back, completed, failed, resumed.'}, 'step': {'type': ['string', 'null']}, 'state': {'type': 'string'}, 'detail': {'type': ['string', 'object', 'null']}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_state_journal_schema_json
