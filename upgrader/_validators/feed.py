# Generated from feed.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "2fdbdc3b341ecc58d71699560c6f9b12afd8bc843120ac0dba3cc9fe283bf136"
VERSION = "2.22.3"
from decimal import Decimal
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


NoneType = type(None)

def validate_https___upgrader_invalid_state_feed_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/feed.schema.json', 'title': 'state/<project>/feed.json', 'description': "What this project learnt from its feed's verified index. The highest serial accepted (DESIGN §3): an index with a lower serial, or without one, is a replay or a feed rolled back, and is refused; written by a run (never by check). The releases the index withdraws (DESIGN §10 'yanked'), so that status and doctor warn of an installed one without reading the feed; written by run and check when they change.", 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'feed'], 'properties': {'schema': {'const': 1}, 'feed': {'type': 'string', 'minLength': 1, 'description': "The feed (project.yaml 'feed', with its final /) the serial is of: another feed starts afresh."}, 'serial': {'type': 'integer', 'minimum': 0, 'description': 'The highest serial accepted.'}, 'seen_at': {'type': 'string', 'format': 'date-time', 'description': 'When that serial was first accepted.'}, 'yanked': {'type': 'object', 'description': "The releases the last index read from this feed withdraws: version → the publisher's reason. Absent: none known.", 'additionalProperties': {'type': 'string'}}, 'yanked_at': {'type': 'string', 'format': 'date-time', 'description': "When 'yanked' was last changed."}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'feed']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/feed.schema.json', 'title': 'state/<project>/feed.json', 'description': "What this project learnt from its feed's verified index. The highest serial accepted (DESIGN §3): an index with a lower serial, or without one, is a replay or a feed rolled back, and is refused; written by a run (never by check). The releases the index withdraws (DESIGN §10 'yanked'), so that status and doctor warn of an installed one without reading the feed; written by run and check when they change.", 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'feed'], 'properties': {'schema': {'const': 1}, 'feed': {'type': 'string', 'minLength': 1, 'description': "The feed (project.yaml 'feed', with its final /) the serial is of: another feed starts afresh."}, 'serial': {'type': 'integer', 'minimum': 0, 'description': 'The highest serial accepted.'}, 'seen_at': {'type': 'string', 'format': 'date-time', 'description': 'When that serial was first accepted.'}, 'yanked': {'type': 'object', 'description': "The releases the last index read from this feed withdraws: version → the publisher's reason. Absent: none known.", 'additionalProperties': {'type': 'string'}}, 'yanked_at': {'type': 'string', 'format': 'date-time', 'description': "When 'yanked' was last changed."}}}, rule='required')
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not (isinstance(data__schema, (int, float)) and not isinstance(data__schema, bool) and data__schema == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be same as const definition: 1", value=data__schema, name="" + (name_prefix or "data") + ".schema", definition={'const': 1}, rule='const')
        if "feed" in data_keys:
            data_keys.remove("feed")
            data__feed = data["feed"]
            if not isinstance(data__feed, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must be string", value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'string', 'minLength': 1, 'description': "The feed (project.yaml 'feed', with its final /) the serial is of: another feed starts afresh."}, rule='type')
            if isinstance(data__feed, str):
                data__feed_len = len(data__feed)
                if data__feed_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must be longer than or equal to 1 characters", value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'string', 'minLength': 1, 'description': "The feed (project.yaml 'feed', with its final /) the serial is of: another feed starts afresh."}, rule='minLength')
        if "serial" in data_keys:
            data_keys.remove("serial")
            data__serial = data["serial"]
            if not isinstance(data__serial, (int)) and not (isinstance(data__serial, float) and data__serial.is_integer()) or isinstance(data__serial, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".serial must be integer", value=data__serial, name="" + (name_prefix or "data") + ".serial", definition={'type': 'integer', 'minimum': 0, 'description': 'The highest serial accepted.'}, rule='type')
            if isinstance(data__serial, (int, float, Decimal)) and not isinstance(data__serial, bool):
                if data__serial < 0:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".serial must be bigger than or equal to 0", value=data__serial, name="" + (name_prefix or "data") + ".serial", definition={'type': 'integer', 'minimum': 0, 'description': 'The highest serial accepted.'}, rule='minimum')
        if "seen_at" in data_keys:
            data_keys.remove("seen_at")
            data__seenat = data["seen_at"]
            if not isinstance(data__seenat, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".seen_at must be string", value=data__seenat, name="" + (name_prefix or "data") + ".seen_at", definition={'type': 'string', 'format': 'date-time', 'description': 'When that serial was first accepted.'}, rule='type')
        if "yanked" in data_keys:
            data_keys.remove("yanked")
            data__yanked = data["yanked"]
            if not isinstance(data__yanked, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".yanked must be object", value=data__yanked, name="" + (name_prefix or "data") + ".yanked", definition={'type': 'object', 'description': "The releases the last index read from this feed withdraws: version → the publisher's reason. Absent: none known.", 'additionalProperties': {'type': 'string'}}, rule='type')
            data__yanked_is_dict = isinstance(data__yanked, dict)
            if data__yanked_is_dict:
                data__yanked_keys = set(data__yanked.keys())
                for data__yanked_key in data__yanked_keys:
                    if data__yanked_key not in []:
                        data__yanked_value = data__yanked.get(data__yanked_key)
                        if not isinstance(data__yanked_value, (str)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".yanked.{data__yanked_key}".format(**locals()) + " must be string", value=data__yanked_value, name="" + (name_prefix or "data") + ".yanked.{data__yanked_key}".format(**locals()) + "", definition={'type': 'string'}, rule='type')
        if "yanked_at" in data_keys:
            data_keys.remove("yanked_at")
            data__yankedat = data["yanked_at"]
            if not isinstance(data__yankedat, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".yanked_at must be string", value=data__yankedat, name="" + (name_prefix or "data") + ".yanked_at", definition={'type': 'string', 'format': 'date-time', 'description': "When 'yanked' was last changed."}, rule='type')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/feed.schema.json', 'title': 'state/<project>/feed.json', 'description': "What this project learnt from its feed's verified index. The highest serial accepted (DESIGN §3): an index with a lower serial, or without one, is a replay or a feed rolled back, and is refused; written by a run (never by check). The releases the index withdraws (DESIGN §10 'yanked'), so that status and doctor warn of an installed one without reading the feed; written by run and check when they change.", 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'feed'], 'properties': {'schema': {'const': 1}, 'feed': {'type': 'string', 'minLength': 1, 'description': "The feed (project.yaml 'feed', with its final /) the serial is of: another feed starts afresh."}, 'serial': {'type': 'integer', 'minimum': 0, 'description': 'The highest serial accepted.'}, 'seen_at': {'type': 'string', 'format': 'date-time', 'description': 'When that serial was first accepted.'}, 'yanked': {'type': 'object', 'description': "The releases the last index read from this feed withdraws: version → the publisher's reason. Absent: none known.", 'additionalProperties': {'type': 'string'}}, 'yanked_at': {'type': 'string', 'format': 'date-time', 'description': "When 'yanked' was last changed."}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_state_feed_schema_json
