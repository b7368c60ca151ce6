# Generated from installed.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "14cfb4cea01941942f0a0b661dea910032f6078c4527350d029ce74c2497afe3"
VERSION = "2.22.3"
from decimal import Decimal
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


NoneType = type(None)

def validate_https___upgrader_invalid_state_installed_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/installed.schema.json', 'title': 'state/<project>/installed.json', 'description': 'The release that runs now; written only when a run completes or a rollback ends.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'version', 'release', 'images', 'installed_at'], 'properties': {'schema': {'const': 1}, 'version': {'type': 'string'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, 'images': {'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, 'installed_at': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': ['string', 'null']}, 'previous': {'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'version', 'release', 'images', 'installed_at']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/installed.schema.json', 'title': 'state/<project>/installed.json', 'description': 'The release that runs now; written only when a run completes or a rollback ends.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'version', 'release', 'images', 'installed_at'], 'properties': {'schema': {'const': 1}, 'version': {'type': 'string'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, 'images': {'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, 'installed_at': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': ['string', 'null']}, 'previous': {'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}}}, rule='required')
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not (isinstance(data__schema, (int, float)) and not isinstance(data__schema, bool) and data__schema == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be same as const definition: 1", value=data__schema, name="" + (name_prefix or "data") + ".schema", definition={'const': 1}, rule='const')
        if "version" in data_keys:
            data_keys.remove("version")
            data__version = data["version"]
            if not isinstance(data__version, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be string", value=data__version, name="" + (name_prefix or "data") + ".version", definition={'type': 'string'}, rule='type')
        if "release" in data_keys:
            data_keys.remove("release")
            data__release = data["release"]
            if not isinstance(data__release, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".release must be object or null", value=data__release, name="" + (name_prefix or "data") + ".release", definition={'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, rule='type')
        if "images" in data_keys:
            data_keys.remove("images")
            data__images = data["images"]
            if not isinstance(data__images, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".images must be object", value=data__images, name="" + (name_prefix or "data") + ".images", definition={'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, rule='type')
            data__images_is_dict = isinstance(data__images, dict)
            if data__images_is_dict:
                data__images_keys = set(data__images.keys())
                for data__images_key in data__images_keys:
                    if data__images_key not in []:
                        data__images_value = data__images.get(data__images_key)
                        if not isinstance(data__images_value, (str)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".images.{data__images_key}".format(**locals()) + " must be string", value=data__images_value, name="" + (name_prefix or "data") + ".images.{data__images_key}".format(**locals()) + "", definition={'type': 'string'}, rule='type')
        if "installed_at" in data_keys:
            data_keys.remove("installed_at")
            data__installedat = data["installed_at"]
            if not isinstance(data__installedat, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_at must be string", value=data__installedat, name="" + (name_prefix or "data") + ".installed_at", definition={'type': 'string', 'format': 'date-time'}, rule='type')
        if "run_id" in data_keys:
            data_keys.remove("run_id")
            data__runid = data["run_id"]
            if not isinstance(data__runid, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".run_id must be string or null", value=data__runid, name="" + (name_prefix or "data") + ".run_id", definition={'type': ['string', 'null']}, rule='type')
        if "previous" in data_keys:
            data_keys.remove("previous")
            data__previous = data["previous"]
            if not isinstance(data__previous, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".previous must be object or null", value=data__previous, name="" + (name_prefix or "data") + ".previous", definition={'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}, rule='type')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/installed.schema.json', 'title': 'state/<project>/installed.json', 'description': 'The release that runs now; written only when a run completes or a rollback ends.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'version', 'release', 'images', 'installed_at'], 'properties': {'schema': {'const': 1}, 'version': {'type': 'string'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, 'images': {'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, 'installed_at': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': ['string', 'null']}, 'previous': {'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_state_installed_schema_json
