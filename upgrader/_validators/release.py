# Generated from release.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "9541d09133299d68fd6294e561d600960a03517da25fc76f359eef30dbf96368"
VERSION = "2.22.3"
from decimal import Decimal
import re
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$': re.compile('^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?\\Z'),
    '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$': re.compile('^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})\\Z')
}

NoneType = type(None)

def validate_https___upgrader_invalid_release_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/release.schema.json', 'title': 'release.json inside a release package', 'description': 'What a release package is (DESIGN §4).', 'type': 'object', 'additionalProperties': False, 'required': ['product', 'version', 'images'], 'properties': {'product': {'type': 'string', 'minLength': 1}, 'version': {'type': 'string', 'maxLength': 128, 'pattern': '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'}, 'images': {'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, 'description': 'Every image the Compose file uses, each with an explicit tag or digest.'}, 'description': {'type': 'string'}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['product', 'version', 'images']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/release.schema.json', 'title': 'release.json inside a release package', 'description': 'What a release package is (DESIGN §4).', 'type': 'object', 'additionalProperties': False, 'required': ['product', 'version', 'images'], 'properties': {'product': {'type': 'string', 'minLength': 1}, 'version': {'type': 'string', 'maxLength': 128, 'pattern': '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'}, 'images': {'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, 'description': 'Every image the Compose file uses, each with an explicit tag or digest.'}, 'description': {'type': 'string'}}}, rule='required')
        data_keys = set(data.keys())
        if "product" in data_keys:
            data_keys.remove("product")
            data__product = data["product"]
            if not isinstance(data__product, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".product must be string", value=data__product, name="" + (name_prefix or "data") + ".product", definition={'type': 'string', 'minLength': 1}, rule='type')
            if isinstance(data__product, str):
                data__product_len = len(data__product)
                if data__product_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".product must be longer than or equal to 1 characters", value=data__product, name="" + (name_prefix or "data") + ".product", definition={'type': 'string', 'minLength': 1}, rule='minLength')
        if "version" in data_keys:
            data_keys.remove("version")
            data__version = data["version"]
            if not isinstance(data__version, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be string", value=data__version, name="" + (name_prefix or "data") + ".version", definition={'type': 'string', 'maxLength': 128, 'pattern': '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'}, rule='type')
            if isinstance(data__version, str):
                data__version_len = len(data__version)
                if data__version_len > 128:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be shorter than or equal to 128 characters", value=data__version, name="" + (name_prefix or "data") + ".version", definition={'type': 'string', 'maxLength': 128, 'pattern': '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'}, rule='maxLength')
                if not REGEX_PATTERNS['^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'].search(data__version):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must match pattern ^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$", value=data__version, name="" + (name_prefix or "data") + ".version", definition={'type': 'string', 'maxLength': 128, 'pattern': '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'}, rule='pattern')
        if "images" in data_keys:
            data_keys.remove("images")
            data__images = data["images"]
            if not isinstance(data__images, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".images must be array", value=data__images, name="" + (name_prefix or "data") + ".images", definition={'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, 'description': 'Every image the Compose file uses, each with an explicit tag or digest.'}, rule='type')
            data__images_is_list = isinstance(data__images, (list, tuple))
            if data__images_is_list:
                data__images_len = len(data__images)
                if data__images_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".images must contain at least 1 items", value=data__images, name="" + (name_prefix or "data") + ".images", definition={'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, 'description': 'Every image the Compose file uses, each with an explicit tag or digest.'}, rule='minItems')
                def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
                if data__images_len > len(set(fn(data__images_x) for data__images_x in data__images)):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".images must contain unique items", value=data__images, name="" + (name_prefix or "data") + ".images", definition={'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, 'description': 'Every image the Compose file uses, each with an explicit tag or digest.'}, rule='uniqueItems')
                for data__images_x, data__images_item in enumerate(data__images):
                    if not isinstance(data__images_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".images[{data__images_x}]".format(**locals()) + " must be string", value=data__images_item, name="" + (name_prefix or "data") + ".images[{data__images_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, rule='type')
                    if isinstance(data__images_item, str):
                        if not REGEX_PATTERNS['^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'].search(data__images_item):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".images[{data__images_x}]".format(**locals()) + " must match pattern ^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", value=data__images_item, name="" + (name_prefix or "data") + ".images[{data__images_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, rule='pattern')
        if "description" in data_keys:
            data_keys.remove("description")
            data__description = data["description"]
            if not isinstance(data__description, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".description must be string", value=data__description, name="" + (name_prefix or "data") + ".description", definition={'type': 'string'}, rule='type')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/release.schema.json', 'title': 'release.json inside a release package', 'description': 'What a release package is (DESIGN §4).', 'type': 'object', 'additionalProperties': False, 'required': ['product', 'version', 'images'], 'properties': {'product': {'type': 'string', 'minLength': 1}, 'version': {'type': 'string', 'maxLength': 128, 'pattern': '^(?!.*\\n)(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$'}, 'images': {'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[a-z0-9][a-z0-9._:/-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$'}, 'description': 'Every image the Compose file uses, each with an explicit tag or digest.'}, 'description': {'type': 'string'}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_release_schema_json
