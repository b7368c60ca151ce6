# Generated from snapshot.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "02cc0cfdbd8876048f579a1ef2ab6afed95ec2ba38b500126997329dfc77c3c0"
VERSION = "2.22.3"
from decimal import Decimal
import re
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^[a-z0-9][a-z0-9_-]{0,62}$': re.compile('^[a-z0-9][a-z0-9_-]{0,62}\\Z'),
    '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$': re.compile('^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\\Z'),
    '^(volume|path)-[A-Za-z0-9_.-]{1,200}$': re.compile('^(volume|path)-[A-Za-z0-9_.-]{1,200}\\Z'),
    '^[0-9a-f]{64}$': re.compile('^[0-9a-f]{64}\\Z')
}

NoneType = type(None)

def validate_https___upgrader_invalid_state_snapshot_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/snapshot.schema.json', 'title': 'snapshots/<project>/<run_id>/snapshot.json', 'description': 'The manifest of one data snapshot: what was copied, how, and whether the copy was finished while the server was stopped (DESIGN §9). Written first when the first pass begins, and last when the snapshot is complete.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'project', 'run_id', 'from', 'to', 'created_at', 'stopped_at', 'completed_at', 'complete', 'volumes'], 'properties': {'schema': {'const': 1}, 'project': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, 'run_id': {'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, 'from': {'type': ['string', 'null'], 'description': 'The version that ran (whose data this is).'}, 'to': {'type': ['string', 'null'], 'description': 'The version the run was installing.'}, 'created_at': {'type': 'string', 'format': 'date-time'}, 'stopped_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'completed_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'complete': {'type': 'boolean', 'description': 'True only once the second pass ran with every writer stopped: only then may it be restored.'}, 'volumes': {'type': 'array', 'description': 'What the snapshot holds: named volumes and host folders (snapshot.paths, data folders beside compose.yaml).', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}}}, '$defs': {'time': {'type': 'string', 'format': 'date-time'}, 'time_or_null': {'type': ['string', 'null'], 'format': 'date-time'}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'project', 'run_id', 'from', 'to', 'created_at', 'stopped_at', 'completed_at', 'complete', 'volumes']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/snapshot.schema.json', 'title': 'snapshots/<project>/<run_id>/snapshot.json', 'description': 'The manifest of one data snapshot: what was copied, how, and whether the copy was finished while the server was stopped (DESIGN §9). Written first when the first pass begins, and last when the snapshot is complete.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'project', 'run_id', 'from', 'to', 'created_at', 'stopped_at', 'completed_at', 'complete', 'volumes'], 'properties': {'schema': {'const': 1}, 'project': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, 'run_id': {'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, 'from': {'type': ['string', 'null'], 'description': 'The version that ran (whose data this is).'}, 'to': {'type': ['string', 'null'], 'description': 'The version the run was installing.'}, 'created_at': {'type': 'string', 'format': 'date-time'}, 'stopped_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'completed_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'complete': {'type': 'boolean', 'description': 'True only once the second pass ran with every writer stopped: only then may it be restored.'}, 'volumes': {'type': 'array', 'description': 'What the snapshot holds: named volumes and host folders (snapshot.paths, data folders beside compose.yaml).', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}}}, '$defs': {'time': {'type': 'string', 'format': 'date-time'}, 'time_or_null': {'type': ['string', 'null'], 'format': 'date-time'}}}, rule='required')
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not (isinstance(data__schema, (int, float)) and not isinstance(data__schema, bool) and data__schema == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be same as const definition: 1", value=data__schema, name="" + (name_prefix or "data") + ".schema", definition={'const': 1}, rule='const')
        if "project" in data_keys:
            data_keys.remove("project")
            data__project = data["project"]
            if not isinstance(data__project, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".project must be string", value=data__project, name="" + (name_prefix or "data") + ".project", definition={'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, rule='type')
            if isinstance(data__project, str):
                if not REGEX_PATTERNS['^[a-z0-9][a-z0-9_-]{0,62}$'].search(data__project):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".project must match pattern ^[a-z0-9][a-z0-9_-]{0,62}$", value=data__project, name="" + (name_prefix or "data") + ".project", definition={'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, rule='pattern')
        if "run_id" in data_keys:
            data_keys.remove("run_id")
            data__runid = data["run_id"]
            if not isinstance(data__runid, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".run_id must be string", value=data__runid, name="" + (name_prefix or "data") + ".run_id", definition={'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, rule='type')
            if isinstance(data__runid, str):
                if not REGEX_PATTERNS['^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'].search(data__runid):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".run_id must match pattern ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$", value=data__runid, name="" + (name_prefix or "data") + ".run_id", definition={'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, rule='pattern')
        if "from" in data_keys:
            data_keys.remove("from")
            data__from = data["from"]
            if not isinstance(data__from, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".from must be string or null", value=data__from, name="" + (name_prefix or "data") + ".from", definition={'type': ['string', 'null'], 'description': 'The version that ran (whose data this is).'}, rule='type')
        if "to" in data_keys:
            data_keys.remove("to")
            data__to = data["to"]
            if not isinstance(data__to, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".to must be string or null", value=data__to, name="" + (name_prefix or "data") + ".to", definition={'type': ['string', 'null'], 'description': 'The version the run was installing.'}, rule='type')
        if "created_at" in data_keys:
            data_keys.remove("created_at")
            data__createdat = data["created_at"]
            validate_https___upgrader_invalid_state_snapshot_schema_json___defs_time(data__createdat, custom_formats, (name_prefix or "data") + ".created_at")
        if "stopped_at" in data_keys:
            data_keys.remove("stopped_at")
            data__stoppedat = data["stopped_at"]
            validate_https___upgrader_invalid_state_snapshot_schema_json___defs_time_or_null(data__stoppedat, custom_formats, (name_prefix or "data") + ".stopped_at")
        if "completed_at" in data_keys:
            data_keys.remove("completed_at")
            data__completedat = data["completed_at"]
            validate_https___upgrader_invalid_state_snapshot_schema_json___defs_time_or_null(data__completedat, custom_formats, (name_prefix or "data") + ".completed_at")
        if "complete" in data_keys:
            data_keys.remove("complete")
            data__complete = data["complete"]
            if not isinstance(data__complete, (bool)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".complete must be boolean", value=data__complete, name="" + (name_prefix or "data") + ".complete", definition={'type': 'boolean', 'description': 'True only once the second pass ran with every writer stopped: only then may it be restored.'}, rule='type')
        if "volumes" in data_keys:
            data_keys.remove("volumes")
            data__volumes = data["volumes"]
            if not isinstance(data__volumes, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes must be array", value=data__volumes, name="" + (name_prefix or "data") + ".volumes", definition={'type': 'array', 'description': 'What the snapshot holds: named volumes and host folders (snapshot.paths, data folders beside compose.yaml).', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}}, rule='type')
            data__volumes_is_list = isinstance(data__volumes, (list, tuple))
            if data__volumes_is_list:
                data__volumes_len = len(data__volumes)
                for data__volumes_x, data__volumes_item in enumerate(data__volumes):
                    if not isinstance(data__volumes_item, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}]".format(**locals()) + " must be object", value=data__volumes_item, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}, rule='type')
                    data__volumes_item_is_dict = isinstance(data__volumes_item, dict)
                    if data__volumes_item_is_dict:
                        data__volumes_item__missing_keys = set(['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete']) - data__volumes_item.keys()
                        if data__volumes_item__missing_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}]".format(**locals()) + " must contain " + (str(sorted(data__volumes_item__missing_keys)) + " properties"), value=data__volumes_item, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}, rule='required')
                        data__volumes_item_keys = set(data__volumes_item.keys())
                        if "kind" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("kind")
                            data__volumes_item__kind = data__volumes_item["kind"]
                            if not (isinstance(data__volumes_item__kind, str) and data__volumes_item__kind == 'volume' or isinstance(data__volumes_item__kind, str) and data__volumes_item__kind == 'path'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].kind".format(**locals()) + " must be one of ['volume', 'path']", value=data__volumes_item__kind, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].kind".format(**locals()) + "", definition={'enum': ['volume', 'path']}, rule='enum')
                        if "name" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("name")
                            data__volumes_item__name = data__volumes_item["name"]
                            if not isinstance(data__volumes_item__name, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].name".format(**locals()) + " must be string", value=data__volumes_item__name, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].name".format(**locals()) + "", definition={'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, rule='type')
                            if isinstance(data__volumes_item__name, str):
                                data__volumes_item__name_len = len(data__volumes_item__name)
                                if data__volumes_item__name_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].name".format(**locals()) + " must be longer than or equal to 1 characters", value=data__volumes_item__name, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].name".format(**locals()) + "", definition={'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, rule='minLength')
                        if "dir" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("dir")
                            data__volumes_item__dir = data__volumes_item["dir"]
                            if not isinstance(data__volumes_item__dir, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].dir".format(**locals()) + " must be string", value=data__volumes_item__dir, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].dir".format(**locals()) + "", definition={'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, rule='type')
                            if isinstance(data__volumes_item__dir, str):
                                if not REGEX_PATTERNS['^(volume|path)-[A-Za-z0-9_.-]{1,200}$'].search(data__volumes_item__dir):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].dir".format(**locals()) + " must match pattern ^(volume|path)-[A-Za-z0-9_.-]{1,200}$", value=data__volumes_item__dir, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].dir".format(**locals()) + "", definition={'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, rule='pattern')
                        if "method" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("method")
                            data__volumes_item__method = data__volumes_item["method"]
                            if not (isinstance(data__volumes_item__method, str) and data__volumes_item__method == 'host' or isinstance(data__volumes_item__method, str) and data__volumes_item__method == 'engine'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].method".format(**locals()) + " must be one of ['host', 'engine']", value=data__volumes_item__method, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].method".format(**locals()) + "", definition={'enum': ['host', 'engine']}, rule='enum')
                        if "driver" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("driver")
                            data__volumes_item__driver = data__volumes_item["driver"]
                            if not isinstance(data__volumes_item__driver, (str, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].driver".format(**locals()) + " must be string or null", value=data__volumes_item__driver, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].driver".format(**locals()) + "", definition={'type': ['string', 'null']}, rule='type')
                        if "labels" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("labels")
                            data__volumes_item__labels = data__volumes_item["labels"]
                            if not isinstance(data__volumes_item__labels, (dict, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].labels".format(**locals()) + " must be object or null", value=data__volumes_item__labels, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].labels".format(**locals()) + "", definition={'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, rule='type')
                            data__volumes_item__labels_is_dict = isinstance(data__volumes_item__labels, dict)
                            if data__volumes_item__labels_is_dict:
                                data__volumes_item__labels_keys = set(data__volumes_item__labels.keys())
                                for data__volumes_item__labels_key in data__volumes_item__labels_keys:
                                    if data__volumes_item__labels_key not in []:
                                        data__volumes_item__labels_value = data__volumes_item__labels.get(data__volumes_item__labels_key)
                                        if not isinstance(data__volumes_item__labels_value, (str)):
                                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].labels.{data__volumes_item__labels_key}".format(**locals()) + " must be string", value=data__volumes_item__labels_value, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].labels.{data__volumes_item__labels_key}".format(**locals()) + "", definition={'type': 'string'}, rule='type')
                        if "options" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("options")
                            data__volumes_item__options = data__volumes_item["options"]
                            if not isinstance(data__volumes_item__options, (dict, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].options".format(**locals()) + " must be object or null", value=data__volumes_item__options, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].options".format(**locals()) + "", definition={'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, rule='type')
                            data__volumes_item__options_is_dict = isinstance(data__volumes_item__options, dict)
                            if data__volumes_item__options_is_dict:
                                data__volumes_item__options_keys = set(data__volumes_item__options.keys())
                                for data__volumes_item__options_key in data__volumes_item__options_keys:
                                    if data__volumes_item__options_key not in []:
                                        data__volumes_item__options_value = data__volumes_item__options.get(data__volumes_item__options_key)
                                        if not isinstance(data__volumes_item__options_value, (str)):
                                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].options.{data__volumes_item__options_key}".format(**locals()) + " must be string", value=data__volumes_item__options_value, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].options.{data__volumes_item__options_key}".format(**locals()) + "", definition={'type': 'string'}, rule='type')
                        if "image" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("image")
                            data__volumes_item__image = data__volumes_item["image"]
                            if not isinstance(data__volumes_item__image, (str, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].image".format(**locals()) + " must be string or null", value=data__volumes_item__image, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].image".format(**locals()) + "", definition={'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, rule='type')
                        if "files" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("files")
                            data__volumes_item__files = data__volumes_item["files"]
                            if not isinstance(data__volumes_item__files, (int)) and not (isinstance(data__volumes_item__files, float) and data__volumes_item__files.is_integer()) or isinstance(data__volumes_item__files, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].files".format(**locals()) + " must be integer", value=data__volumes_item__files, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].files".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0}, rule='type')
                            if isinstance(data__volumes_item__files, (int, float, Decimal)) and not isinstance(data__volumes_item__files, bool):
                                if data__volumes_item__files < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].files".format(**locals()) + " must be bigger than or equal to 0", value=data__volumes_item__files, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].files".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0}, rule='minimum')
                        if "bytes" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("bytes")
                            data__volumes_item__bytes = data__volumes_item["bytes"]
                            if not isinstance(data__volumes_item__bytes, (int)) and not (isinstance(data__volumes_item__bytes, float) and data__volumes_item__bytes.is_integer()) or isinstance(data__volumes_item__bytes, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].bytes".format(**locals()) + " must be integer", value=data__volumes_item__bytes, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].bytes".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0}, rule='type')
                            if isinstance(data__volumes_item__bytes, (int, float, Decimal)) and not isinstance(data__volumes_item__bytes, bool):
                                if data__volumes_item__bytes < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].bytes".format(**locals()) + " must be bigger than or equal to 0", value=data__volumes_item__bytes, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].bytes".format(**locals()) + "", definition={'type': 'integer', 'minimum': 0}, rule='minimum')
                        if "digest" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("digest")
                            data__volumes_item__digest = data__volumes_item["digest"]
                            if not isinstance(data__volumes_item__digest, (str, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].digest".format(**locals()) + " must be string or null", value=data__volumes_item__digest, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].digest".format(**locals()) + "", definition={'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, rule='type')
                            if isinstance(data__volumes_item__digest, str):
                                if not REGEX_PATTERNS['^[0-9a-f]{64}$'].search(data__volumes_item__digest):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].digest".format(**locals()) + " must match pattern ^[0-9a-f]{64}$", value=data__volumes_item__digest, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].digest".format(**locals()) + "", definition={'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, rule='pattern')
                        if "complete" in data__volumes_item_keys:
                            data__volumes_item_keys.remove("complete")
                            data__volumes_item__complete = data__volumes_item["complete"]
                            if not isinstance(data__volumes_item__complete, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}].complete".format(**locals()) + " must be boolean", value=data__volumes_item__complete, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}].complete".format(**locals()) + "", definition={'type': 'boolean'}, rule='type')
                        if data__volumes_item_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".volumes[{data__volumes_x}]".format(**locals()) + " must not contain "+str(data__volumes_item_keys)+" properties", value=data__volumes_item, name="" + (name_prefix or "data") + ".volumes[{data__volumes_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}, rule='additionalProperties')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/snapshot.schema.json', 'title': 'snapshots/<project>/<run_id>/snapshot.json', 'description': 'The manifest of one data snapshot: what was copied, how, and whether the copy was finished while the server was stopped (DESIGN §9). Written first when the first pass begins, and last when the snapshot is complete.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'project', 'run_id', 'from', 'to', 'created_at', 'stopped_at', 'completed_at', 'complete', 'volumes'], 'properties': {'schema': {'const': 1}, 'project': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9_-]{0,62}$'}, 'run_id': {'type': 'string', 'pattern': '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$'}, 'from': {'type': ['string', 'null'], 'description': 'The version that ran (whose data this is).'}, 'to': {'type': ['string', 'null'], 'description': 'The version the run was installing.'}, 'created_at': {'type': 'string', 'format': 'date-time'}, 'stopped_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'completed_at': {'type': ['string', 'null'], 'format': 'date-time'}, 'complete': {'type': 'boolean', 'description': 'True only once the second pass ran with every writer stopped: only then may it be restored.'}, 'volumes': {'type': 'array', 'description': 'What the snapshot holds: named volumes and host folders (snapshot.paths, data folders beside compose.yaml).', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'name', 'dir', 'method', 'files', 'bytes', 'digest', 'complete'], 'properties': {'kind': {'enum': ['volume', 'path']}, 'name': {'type': 'string', 'minLength': 1, 'description': "The volume's name, or the folder's absolute path."}, 'dir': {'type': 'string', 'pattern': '^(volume|path)-[A-Za-z0-9_.-]{1,200}$', 'description': 'Its copy: <snapshot>/<dir>/, listed in <snapshot>/<dir>.listing.'}, 'method': {'enum': ['host', 'engine']}, 'driver': {'type': ['string', 'null']}, 'labels': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'options': {'type': ['object', 'null'], 'additionalProperties': {'type': 'string'}}, 'image': {'type': ['string', 'null'], 'description': 'engine: the image of the never-started helper container.'}, 'files': {'type': 'integer', 'minimum': 0}, 'bytes': {'type': 'integer', 'minimum': 0}, 'digest': {'type': ['string', 'null'], 'pattern': '^[0-9a-f]{64}$', 'description': 'sha256 of the canonical listing (path, type, mode, uid, gid, size, mtime, link target, content sha256).'}, 'complete': {'type': 'boolean'}}}}}, '$defs': {'time': {'type': 'string', 'format': 'date-time'}, 'time_or_null': {'type': ['string', 'null'], 'format': 'date-time'}}}, rule='additionalProperties')
    return data

def validate_https___upgrader_invalid_state_snapshot_schema_json___defs_time_or_null(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str, NoneType)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string or null", value=data, name="" + (name_prefix or "data") + "", definition={'type': ['string', 'null'], 'format': 'date-time'}, rule='type')
    return data

def validate_https___upgrader_invalid_state_snapshot_schema_json___defs_time(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string", value=data, name="" + (name_prefix or "data") + "", definition={'type': 'string', 'format': 'date-time'}, rule='type')
    return data

validate = validate_https___upgrader_invalid_state_snapshot_schema_json
