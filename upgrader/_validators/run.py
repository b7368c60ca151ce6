# Generated from run.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "670a745fd95b1efd141720238244661dfa8f192c9031360201adc621c16d8fae"
VERSION = "2.22.3"
from decimal import Decimal
import re
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$': re.compile('^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\\Z'),
    '^[a-z0-9][a-z0-9_-]{0,62}$': re.compile('^[a-z0-9][a-z0-9_-]{0,62}\\Z'),
    '^[0-9a-f]{64}$': re.compile('^[0-9a-f]{64}\\Z')
}

NoneType = type(None)

def validate_https___upgrader_invalid_state_run_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/run.schema.json', 'title': 'state/<project>/run.json', 'description': "The checkpoint of the current or last run of a project's workflow.", 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'run_id', 'project', 'workflow', 'from_version', 'to_version', 'release', 'state', 'status', 'steps', 'data', 'error', 'pid', 'host', 'started_at', 'updated_at'], 'properties': {'schema': {'const': 1, 'description': 'The format version of this file.'}, 'run_id': {'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, 'project': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, 'workflow': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'sha256'], 'properties': {'name': {'type': 'string'}, 'sha256': {'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, 'path': {'type': 'string', 'description': 'Where the workflow was loaded from.'}}}, 'from_version': {'type': ['string', 'null'], 'description': 'The version installed when the run started.'}, 'to_version': {'type': ['string', 'null'], 'description': 'The version the run installs; null for a workflow run without a release.'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry of the target release.'}, 'state': {'type': 'string', 'description': 'The workflow state reached, the last checkpoint.'}, 'status': {'enum': ['running', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed']}, 'steps': {'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}}, 'data': {'type': 'object', 'description': 'What actions hand on to later steps (archive path, digests, …).'}, 'error': {'type': ['string', 'null'], 'description': 'Why the run paused, rolled back or failed.'}, 'fault': {'enum': ['release', None], 'description': "'release' when the release itself made the run fail (it is then quarantined)."}, 'pid': {'type': 'integer', 'description': 'The process that last worked on the run.'}, 'host': {'type': 'string'}, 'started_at': {'type': 'string', 'format': 'date-time'}, 'updated_at': {'type': 'string', 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}}, '$defs': {'time': {'type': 'string', 'format': 'date-time'}, 'time_or_null': {'type': ['string', 'null'], 'format': 'date-time'}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'run_id', 'project', 'workflow', 'from_version', 'to_version', 'release', 'state', 'status', 'steps', 'data', 'error', 'pid', 'host', 'started_at', 'updated_at']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/run.schema.json', 'title': 'state/<project>/run.json', 'description': "The checkpoint of the current or last run of a project's workflow.", 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'run_id', 'project', 'workflow', 'from_version', 'to_version', 'release', 'state', 'status', 'steps', 'data', 'error', 'pid', 'host', 'started_at', 'updated_at'], 'properties': {'schema': {'const': 1, 'description': 'The format version of this file.'}, 'run_id': {'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, 'project': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, 'workflow': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'sha256'], 'properties': {'name': {'type': 'string'}, 'sha256': {'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, 'path': {'type': 'string', 'description': 'Where the workflow was loaded from.'}}}, 'from_version': {'type': ['string', 'null'], 'description': 'The version installed when the run started.'}, 'to_version': {'type': ['string', 'null'], 'description': 'The version the run installs; null for a workflow run without a release.'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry of the target release.'}, 'state': {'type': 'string', 'description': 'The workflow state reached, the last checkpoint.'}, 'status': {'enum': ['running', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed']}, 'steps': {'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}}, 'data': {'type': 'object', 'description': 'What actions hand on to later steps (archive path, digests, …).'}, 'error': {'type': ['string', 'null'], 'description': 'Why the run paused, rolled back or failed.'}, 'fault': {'enum': ['release', None], 'description': "'release' when the release itself made the run fail (it is then quarantined)."}, 'pid': {'type': 'integer', 'description': 'The process that last worked on the run.'}, 'host': {'type': 'string'}, 'started_at': {'type': 'string', 'format': 'date-time'}, 'updated_at': {'type': 'string', 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}}, '$defs': {'time': {'type': 'string', 'format': 'date-time'}, 'time_or_null': {'type': ['string', 'null'], 'format': 'date-time'}}}, rule='required')
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not (isinstance(data__schema, (int, float)) and not isinstance(data__schema, bool) and data__schema == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be same as const definition: 1", value=data__schema, name="" + (name_prefix or "data") + ".schema", definition={'const': 1, 'description': 'The format version of this file.'}, rule='const')
        if "run_id" in data_keys:
            data_keys.remove("run_id")
            data__runid = data["run_id"]
            if not isinstance(data__runid, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".run_id must be string", value=data__runid, name="" + (name_prefix or "data") + ".run_id", definition={'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, rule='type')
            if isinstance(data__runid, str):
                if not REGEX_PATTERNS['^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'].search(data__runid):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".run_id must match pattern ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$", value=data__runid, name="" + (name_prefix or "data") + ".run_id", definition={'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, rule='pattern')
        if "project" in data_keys:
            data_keys.remove("project")
            data__project = data["project"]
            if not isinstance(data__project, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".project must be string", value=data__project, name="" + (name_prefix or "data") + ".project", definition={'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, rule='type')
            if isinstance(data__project, str):
                if not REGEX_PATTERNS['^[a-z0-9][a-z0-9_-]{0,62}$'].search(data__project):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".project must match pattern ^[a-z0-9][a-z0-9_-]{0,62}$", value=data__project, name="" + (name_prefix or "data") + ".project", definition={'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, rule='pattern')
        if "workflow" in data_keys:
            data_keys.remove("workflow")
            data__workflow = data["workflow"]
            if not isinstance(data__workflow, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow must be object", value=data__workflow, name="" + (name_prefix or "data") + ".workflow", definition={'type': 'object', 'additionalProperties': False, 'required': ['name', 'sha256'], 'properties': {'name': {'type': 'string'}, 'sha256': {'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, 'path': {'type': 'string', 'description': 'Where the workflow was loaded from.'}}}, rule='type')
            data__workflow_is_dict = isinstance(data__workflow, dict)
            if data__workflow_is_dict:
                data__workflow__missing_keys = set(['name', 'sha256']) - data__workflow.keys()
                if data__workflow__missing_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow must contain " + (str(sorted(data__workflow__missing_keys)) + " properties"), value=data__workflow, name="" + (name_prefix or "data") + ".workflow", definition={'type': 'object', 'additionalProperties': False, 'required': ['name', 'sha256'], 'properties': {'name': {'type': 'string'}, 'sha256': {'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, 'path': {'type': 'string', 'description': 'Where the workflow was loaded from.'}}}, rule='required')
                data__workflow_keys = set(data__workflow.keys())
                if "name" in data__workflow_keys:
                    data__workflow_keys.remove("name")
                    data__workflow__name = data__workflow["name"]
                    if not isinstance(data__workflow__name, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow.name must be string", value=data__workflow__name, name="" + (name_prefix or "data") + ".workflow.name", definition={'type': 'string'}, rule='type')
                if "sha256" in data__workflow_keys:
                    data__workflow_keys.remove("sha256")
                    data__workflow__sha256 = data__workflow["sha256"]
                    if not isinstance(data__workflow__sha256, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow.sha256 must be string", value=data__workflow__sha256, name="" + (name_prefix or "data") + ".workflow.sha256", definition={'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, rule='type')
                    if isinstance(data__workflow__sha256, str):
                        if not REGEX_PATTERNS['^[0-9a-f]{64}$'].search(data__workflow__sha256):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow.sha256 must match pattern ^[0-9a-f]{64}$", value=data__workflow__sha256, name="" + (name_prefix or "data") + ".workflow.sha256", definition={'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, rule='pattern')
                if "path" in data__workflow_keys:
                    data__workflow_keys.remove("path")
                    data__workflow__path = data__workflow["path"]
                    if not isinstance(data__workflow__path, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow.path must be string", value=data__workflow__path, name="" + (name_prefix or "data") + ".workflow.path", definition={'type': 'string', 'description': 'Where the workflow was loaded from.'}, rule='type')
                if data__workflow_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow must not contain "+str(data__workflow_keys)+" properties", value=data__workflow, name="" + (name_prefix or "data") + ".workflow", definition={'type': 'object', 'additionalProperties': False, 'required': ['name', 'sha256'], 'properties': {'name': {'type': 'string'}, 'sha256': {'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, 'path': {'type': 'string', 'description': 'Where the workflow was loaded from.'}}}, rule='additionalProperties')
        if "from_version" in data_keys:
            data_keys.remove("from_version")
            data__fromversion = data["from_version"]
            if not isinstance(data__fromversion, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".from_version must be string or null", value=data__fromversion, name="" + (name_prefix or "data") + ".from_version", definition={'type': ['string', 'null'], 'description': 'The version installed when the run started.'}, rule='type')
        if "to_version" in data_keys:
            data_keys.remove("to_version")
            data__toversion = data["to_version"]
            if not isinstance(data__toversion, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".to_version must be string or null", value=data__toversion, name="" + (name_prefix or "data") + ".to_version", definition={'type': ['string', 'null'], 'description': 'The version the run installs; null for a workflow run without a release.'}, rule='type')
        if "release" in data_keys:
            data_keys.remove("release")
            data__release = data["release"]
            if not isinstance(data__release, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".release must be object or null", value=data__release, name="" + (name_prefix or "data") + ".release", definition={'type': ['object', 'null'], 'description': 'The feed entry of the target release.'}, rule='type')
        if "state" in data_keys:
            data_keys.remove("state")
            data__state = data["state"]
            if not isinstance(data__state, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".state must be string", value=data__state, name="" + (name_prefix or "data") + ".state", definition={'type': 'string', 'description': 'The workflow state reached, the last checkpoint.'}, rule='type')
        if "status" in data_keys:
            data_keys.remove("status")
            data__status = data["status"]
            if not (isinstance(data__status, str) and data__status == 'running' or isinstance(data__status, str) and data__status == 'paused' or isinstance(data__status, str) and data__status == 'rolling_back' or isinstance(data__status, str) and data__status == 'rolled_back' or isinstance(data__status, str) and data__status == 'completed' or isinstance(data__status, str) and data__status == 'failed'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".status must be one of ['running', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed']", value=data__status, name="" + (name_prefix or "data") + ".status", definition={'enum': ['running', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed']}, rule='enum')
        if "steps" in data_keys:
            data_keys.remove("steps")
            data__steps = data["steps"]
            if not isinstance(data__steps, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps must be array", value=data__steps, name="" + (name_prefix or "data") + ".steps", definition={'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}}, rule='type')
            data__steps_is_list = isinstance(data__steps, (list, tuple))
            if data__steps_is_list:
                data__steps_len = len(data__steps)
                for data__steps_x, data__steps_item in enumerate(data__steps):
                    if not isinstance(data__steps_item, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}]".format(**locals()) + " must be object", value=data__steps_item, name="" + (name_prefix or "data") + ".steps[{data__steps_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}, rule='type')
                    data__steps_item_is_dict = isinstance(data__steps_item, dict)
                    if data__steps_item_is_dict:
                        data__steps_item__missing_keys = set(['name', 'status', 'attempts', 'started_at', 'finished_at', 'error']) - data__steps_item.keys()
                        if data__steps_item__missing_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}]".format(**locals()) + " must contain " + (str(sorted(data__steps_item__missing_keys)) + " properties"), value=data__steps_item, name="" + (name_prefix or "data") + ".steps[{data__steps_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}, rule='required')
                        data__steps_item_keys = set(data__steps_item.keys())
                        if "name" in data__steps_item_keys:
                            data__steps_item_keys.remove("name")
                            data__steps_item__name = data__steps_item["name"]
                            if not isinstance(data__steps_item__name, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].name".format(**locals()) + " must be string", value=data__steps_item__name, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].name".format(**locals()) + "", definition={'type': 'string'}, rule='type')
                        if "status" in data__steps_item_keys:
                            data__steps_item_keys.remove("status")
                            data__steps_item__status = data__steps_item["status"]
                            if not (isinstance(data__steps_item__status, str) and data__steps_item__status == 'pending' or isinstance(data__steps_item__status, str) and data__steps_item__status == 'running' or isinstance(data__steps_item__status, str) and data__steps_item__status == 'done' or isinstance(data__steps_item__status, str) and data__steps_item__status == 'failed' or isinstance(data__steps_item__status, str) and data__steps_item__status == 'undoing' or isinstance(data__steps_item__status, str) and data__steps_item__status == 'rolled_back' or isinstance(data__steps_item__status, str) and data__steps_item__status == 'undo_failed'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].status".format(**locals()) + " must be one of ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']", value=data__steps_item__status, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].status".format(**locals()) + "", definition={'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, rule='enum')
                        if "attempts" in data__steps_item_keys:
                            data__steps_item_keys.remove("attempts")
                            data__steps_item__attempts = data__steps_item["attempts"]
                            if not isinstance(data__steps_item__attempts, (int)) and not (isinstance(data__steps_item__attempts, float) and data__steps_item__attempts.is_integer()) or isinstance(data__steps_item__attempts, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].attempts".format(**locals()) + " must be integer", value=data__steps_item__attempts, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].attempts".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, rule='type')
                            if isinstance(data__steps_item__attempts, (int, float, Decimal)) and not isinstance(data__steps_item__attempts, bool):
                                if data__steps_item__attempts < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].attempts".format(**locals()) + " must be bigger than or equal to 0", value=data__steps_item__attempts, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].attempts".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, rule='minimum')
                        if "undo_attempts" in data__steps_item_keys:
                            data__steps_item_keys.remove("undo_attempts")
                            data__steps_item__undoattempts = data__steps_item["undo_attempts"]
                            if not isinstance(data__steps_item__undoattempts, (int)) and not (isinstance(data__steps_item__undoattempts, float) and data__steps_item__undoattempts.is_integer()) or isinstance(data__steps_item__undoattempts, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].undo_attempts".format(**locals()) + " must be integer", value=data__steps_item__undoattempts, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].undo_attempts".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0}, rule='type')
                            if isinstance(data__steps_item__undoattempts, (int, float, Decimal)) and not isinstance(data__steps_item__undoattempts, bool):
                                if data__steps_item__undoattempts < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].undo_attempts".format(**locals()) + " must be bigger than or equal to 0", value=data__steps_item__undoattempts, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].undo_attempts".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0}, rule='minimum')
                        if "started_at" in data__steps_item_keys:
                            data__steps_item_keys.remove("started_at")
                            data__steps_item__startedat = data__steps_item["started_at"]
                            validate_https___upgrader_invalid_state_run_schema_json___defs_time_or_null(data__steps_item__startedat, custom_formats, (name_prefix or "data") + ".steps[{data__steps_x}].started_at".format(**locals()))
                        if "finished_at" in data__steps_item_keys:
                            data__steps_item_keys.remove("finished_at")
                            data__steps_item__finishedat = data__steps_item["finished_at"]
                            validate_https___upgrader_invalid_state_run_schema_json___defs_time_or_null(data__steps_item__finishedat, custom_formats, (name_prefix or "data") + ".steps[{data__steps_x}].finished_at".format(**locals()))
                        if "error" in data__steps_item_keys:
                            data__steps_item_keys.remove("error")
                            data__steps_item__error = data__steps_item["error"]
                            if not isinstance(data__steps_item__error, (str, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}].error".format(**locals()) + " must be string or null", value=data__steps_item__error, name="" + (name_prefix or "data") + ".steps[{data__steps_x}].error".format(**locals()) + "", definition={'type': ['string', 'null']}, rule='type')
                        if data__steps_item_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".steps[{data__steps_x}]".format(**locals()) + " must not contain "+str(data__steps_item_keys)+" properties", value=data__steps_item, name="" + (name_prefix or "data") + ".steps[{data__steps_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}, rule='additionalProperties')
        if "data" in data_keys:
            data_keys.remove("data")
            data__data = data["data"]
            if not isinstance(data__data, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".data must be object", value=data__data, name="" + (name_prefix or "data") + ".data", definition={'type': 'object', 'description': 'What actions hand on to later steps (archive path, digests, …).'}, rule='type')
        if "error" in data_keys:
            data_keys.remove("error")
            data__error = data["error"]
            if not isinstance(data__error, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".error must be string or null", value=data__error, name="" + (name_prefix or "data") + ".error", definition={'type': ['string', 'null'], 'description': 'Why the run paused, rolled back or failed.'}, rule='type')
        if "fault" in data_keys:
            data_keys.remove("fault")
            data__fault = data["fault"]
            if not (isinstance(data__fault, str) and data__fault == 'release' or data__fault is None):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".fault must be one of ['release', None]", value=data__fault, name="" + (name_prefix or "data") + ".fault", definition={'enum': ['release', None], 'description': "'release' when the release itself made the run fail (it is then quarantined)."}, rule='enum')
        if "pid" in data_keys:
            data_keys.remove("pid")
            data__pid = data["pid"]
            if not isinstance(data__pid, (int)) and not (isinstance(data__pid, float) and data__pid.is_integer()) or isinstance(data__pid, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".pid must be integer", value=data__pid, name="" + (name_prefix or "data") + ".pid", definition={'type': 'integer', 'description': 'The process that last worked on the run.'}, rule='type')
        if "host" in data_keys:
            data_keys.remove("host")
            data__host = data["host"]
            if not isinstance(data__host, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".host must be string", value=data__host, name="" + (name_prefix or "data") + ".host", definition={'type': 'string'}, rule='type')
        if "started_at" in data_keys:
            data_keys.remove("started_at")
            data__startedat = data["started_at"]
            validate_https___upgrader_invalid_state_run_schema_json___defs_time(data__startedat, custom_formats, (name_prefix or "data") + ".started_at")
        if "updated_at" in data_keys:
            data_keys.remove("updated_at")
            data__updatedat = data["updated_at"]
            validate_https___upgrader_invalid_state_run_schema_json___defs_time(data__updatedat, custom_formats, (name_prefix or "data") + ".updated_at")
        if "finished_at" in data_keys:
            data_keys.remove("finished_at")
            data__finishedat = data["finished_at"]
            validate_https___upgrader_invalid_state_run_schema_json___defs_time_or_null(data__finishedat, custom_formats, (name_prefix or "data") + ".finished_at")
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/run.schema.json', 'title': 'state/<project>/run.json', 'description': "The checkpoint of the current or last run of a project's workflow.", 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'run_id', 'project', 'workflow', 'from_version', 'to_version', 'release', 'state', 'status', 'steps', 'data', 'error', 'pid', 'host', 'started_at', 'updated_at'], 'properties': {'schema': {'const': 1, 'description': 'The format version of this file.'}, 'run_id': {'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, 'project': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, 'workflow': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'sha256'], 'properties': {'name': {'type': 'string'}, 'sha256': {'type': 'string', 'pattern': '^[0-9a-f]{64}$', 'description': 'Of the workflow file as the run started; its copy is state/<project>/workflow.yaml.'}, 'path': {'type': 'string', 'description': 'Where the workflow was loaded from.'}}}, 'from_version': {'type': ['string', 'null'], 'description': 'The version installed when the run started.'}, 'to_version': {'type': ['string', 'null'], 'description': 'The version the run installs; null for a workflow run without a release.'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry of the target release.'}, 'state': {'type': 'string', 'description': 'The workflow state reached, the last checkpoint.'}, 'status': {'enum': ['running', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed']}, 'steps': {'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['name', 'status', 'attempts', 'started_at', 'finished_at', 'error'], 'properties': {'name': {'type': 'string'}, 'status': {'enum': ['pending', 'running', 'done', 'failed', 'undoing', 'rolled_back', 'undo_failed']}, 'attempts': {'type': 'integer', 'minimum': 0, 'description': 'Tries of the action in this run, resumes included.'}, 'undo_attempts': {'type': 'integer', 'minimum': 0}, 'started_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'error': {'type': ['string', 'null']}}}}, 'data': {'type': 'object', 'description': 'What actions hand on to later steps (archive path, digests, …).'}, 'error': {'type': ['string', 'null'], 'description': 'Why the run paused, rolled back or failed.'}, 'fault': {'enum': ['release', None], 'description': "'release' when the release itself made the run fail (it is then quarantined)."}, 'pid': {'type': 'integer', 'description': 'The process that last worked on the run.'}, 'host': {'type': 'string'}, 'started_at': {'type': 'string', 'format': 'date-time'}, 'updated_at': {'type': 'string', 'format': 'date-time'}, 'finished_at': {'type': ['string', 'null'], 'format': 'date-time'}}, '$defs': {'time': {'type': 'string', 'format': 'date-time'}, 'time_or_null': {'type': ['string', 'null'], 'format': 'date-time'}}}, rule='additionalProperties')
    return data

def validate_https___upgrader_invalid_state_run_schema_json___defs_time(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string", value=data, name="" + (name_prefix or "data") + "", definition={'type': 'string', 'format': 'date-time'}, rule='type')
    return data

def validate_https___upgrader_invalid_state_run_schema_json___defs_time_or_null(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str, NoneType)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string or null", value=data, name="" + (name_prefix or "data") + "", definition={'type': ['string', 'null'], 'format': 'date-time'}, rule='type')
    return data

validate = validate_https___upgrader_invalid_state_run_schema_json
