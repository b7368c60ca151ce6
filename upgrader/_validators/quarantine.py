# Generated from quarantine.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "f661eb2e260c52826280ed0434b3287bd590125220768b63861671b94cb03b3f"
VERSION = "2.22.3"
from decimal import Decimal
from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException


NoneType = type(None)

def validate_https___upgrader_invalid_state_quarantine_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/quarantine.schema.json', 'title': 'state/<project>/quarantine.json', 'description': 'Releases whose run was rolled back because of the release itself; unattended runs skip them (DESIGN §3).', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'versions'], 'properties': {'schema': {'const': 1}, 'versions': {'type': 'object', 'additionalProperties': {'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'versions']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/quarantine.schema.json', 'title': 'state/<project>/quarantine.json', 'description': 'Releases whose run was rolled back because of the release itself; unattended runs skip them (DESIGN §3).', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'versions'], 'properties': {'schema': {'const': 1}, 'versions': {'type': 'object', 'additionalProperties': {'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}}}}, rule='required')
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not (isinstance(data__schema, (int, float)) and not isinstance(data__schema, bool) and data__schema == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be same as const definition: 1", value=data__schema, name="" + (name_prefix or "data") + ".schema", definition={'const': 1}, rule='const')
        if "versions" in data_keys:
            data_keys.remove("versions")
            data__versions = data["versions"]
            if not isinstance(data__versions, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions must be object", value=data__versions, name="" + (name_prefix or "data") + ".versions", definition={'type': 'object', 'additionalProperties': {'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}}, rule='type')
            data__versions_is_dict = isinstance(data__versions, dict)
            if data__versions_is_dict:
                data__versions_keys = set(data__versions.keys())
                for data__versions_key in data__versions_keys:
                    if data__versions_key not in []:
                        data__versions_value = data__versions.get(data__versions_key)
                        if not isinstance(data__versions_value, (dict)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions.{data__versions_key}".format(**locals()) + " must be object", value=data__versions_value, name="" + (name_prefix or "data") + ".versions.{data__versions_key}".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}, rule='type')
                        data__versions_value_is_dict = isinstance(data__versions_value, dict)
                        if data__versions_value_is_dict:
                            data__versions_value__missing_keys = set(['run_id', 'reason', 'at']) - data__versions_value.keys()
                            if data__versions_value__missing_keys:
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions.{data__versions_key}".format(**locals()) + " must contain " + (str(sorted(data__versions_value__missing_keys)) + " properties"), value=data__versions_value, name="" + (name_prefix or "data") + ".versions.{data__versions_key}".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}, rule='required')
                            data__versions_value_keys = set(data__versions_value.keys())
                            if "run_id" in data__versions_value_keys:
                                data__versions_value_keys.remove("run_id")
                                data__versions_value__runid = data__versions_value["run_id"]
                                if not isinstance(data__versions_value__runid, (str)):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions.{data__versions_key}.run_id".format(**locals()) + " must be string", value=data__versions_value__runid, name="" + (name_prefix or "data") + ".versions.{data__versions_key}.run_id".format(**locals()) + "", definition={'type': 'string'}, rule='type')
                            if "reason" in data__versions_value_keys:
                                data__versions_value_keys.remove("reason")
                                data__versions_value__reason = data__versions_value["reason"]
                                if not isinstance(data__versions_value__reason, (str, NoneType)):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions.{data__versions_key}.reason".format(**locals()) + " must be string or null", value=data__versions_value__reason, name="" + (name_prefix or "data") + ".versions.{data__versions_key}.reason".format(**locals()) + "", definition={'type': ['string', 'null']}, rule='type')
                            if "at" in data__versions_value_keys:
                                data__versions_value_keys.remove("at")
                                data__versions_value__at = data__versions_value["at"]
                                if not isinstance(data__versions_value__at, (str)):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions.{data__versions_key}.at".format(**locals()) + " must be string", value=data__versions_value__at, name="" + (name_prefix or "data") + ".versions.{data__versions_key}.at".format(**locals()) + "", definition={'type': 'string', 'format': 'date-time'}, rule='type')
                            if data__versions_value_keys:
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".versions.{data__versions_key}".format(**locals()) + " must not contain "+str(data__versions_value_keys)+" properties", value=data__versions_value, name="" + (name_prefix or "data") + ".versions.{data__versions_key}".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}, rule='additionalProperties')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/quarantine.schema.json', 'title': 'state/<project>/quarantine.json', 'description': 'Releases whose run was rolled back because of the release itself; unattended runs skip them (DESIGN §3).', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'versions'], 'properties': {'schema': {'const': 1}, 'versions': {'type': 'object', 'additionalProperties': {'type': 'object', 'additionalProperties': False, 'required': ['run_id', 'reason', 'at'], 'properties': {'run_id': {'type': 'string'}, 'reason': {'type': ['string', 'null']}, 'at': {'type': 'string', 'format': 'date-time'}}}}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_state_quarantine_schema_json
