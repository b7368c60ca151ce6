# Generated from installed.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "b51a7935ed613f328460ffe7aa1b472ce5047bcaf17205d4fb373d83a6e8a216"
VERSION = "2.22.3"
from decimal import Decimal
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


NoneType = type(None)

def validate_https___upgrader_invalid_state_installed_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/installed.schema.json', 'title': 'state/<project>/installed.json', 'description': 'The release that runs now; written only when a run completes or a rollback ends.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'version', 'release', 'images', 'installed_at'], 'properties': {'schema': {'const': 1}, 'version': {'type': 'string'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, 'images': {'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, 'installed_at': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': ['string', 'null']}, 'previous': {'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}, 'reported_by': {'enum': ['installed_version'], 'description': "Not installed by upgrader: project.yaml's installed_version command reported this version (DESIGN §12); written as the 'previous' of the first run that upgraded from it, and back as installed.json when that run is rolled back."}, 'command': {'type': 'array', 'items': {'type': 'string'}, 'description': 'With reported_by: the command that reported the version.'}, 'adopted': {'type': 'object', 'additionalProperties': False, 'required': ['working_dir', 'config_files', 'matched_by', 'adopted_at'], 'description': "Written by 'upgrader init --adopt': the stack was started by hand, not by upgrader. Its containers (no io.upgrader labels) are this project's to stop when Compose recorded this working_dir for them.", 'properties': {'working_dir': {'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, 'config_files': {'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, 'matched_by': {'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, 'adopted_at': {'type': 'string', 'format': 'date-time'}}}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema', 'version', 'release', 'images', 'installed_at']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/installed.schema.json', 'title': 'state/<project>/installed.json', 'description': 'The release that runs now; written only when a run completes or a rollback ends.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'version', 'release', 'images', 'installed_at'], 'properties': {'schema': {'const': 1}, 'version': {'type': 'string'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, 'images': {'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, 'installed_at': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': ['string', 'null']}, 'previous': {'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}, 'reported_by': {'enum': ['installed_version'], 'description': "Not installed by upgrader: project.yaml's installed_version command reported this version (DESIGN §12); written as the 'previous' of the first run that upgraded from it, and back as installed.json when that run is rolled back."}, 'command': {'type': 'array', 'items': {'type': 'string'}, 'description': 'With reported_by: the command that reported the version.'}, 'adopted': {'type': 'object', 'additionalProperties': False, 'required': ['working_dir', 'config_files', 'matched_by', 'adopted_at'], 'description': "Written by 'upgrader init --adopt': the stack was started by hand, not by upgrader. Its containers (no io.upgrader labels) are this project's to stop when Compose recorded this working_dir for them.", 'properties': {'working_dir': {'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, 'config_files': {'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, 'matched_by': {'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, 'adopted_at': {'type': 'string', 'format': 'date-time'}}}}}, rule='required')
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
        if "reported_by" in data_keys:
            data_keys.remove("reported_by")
            data__reportedby = data["reported_by"]
            if not (isinstance(data__reportedby, str) and data__reportedby == 'installed_version'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".reported_by must be one of ['installed_version']", value=data__reportedby, name="" + (name_prefix or "data") + ".reported_by", definition={'enum': ['installed_version'], 'description': "Not installed by upgrader: project.yaml's installed_version command reported this version (DESIGN §12); written as the 'previous' of the first run that upgraded from it, and back as installed.json when that run is rolled back."}, rule='enum')
        if "command" in data_keys:
            data_keys.remove("command")
            data__command = data["command"]
            if not isinstance(data__command, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".command must be array", value=data__command, name="" + (name_prefix or "data") + ".command", definition={'type': 'array', 'items': {'type': 'string'}, 'description': 'With reported_by: the command that reported the version.'}, rule='type')
            data__command_is_list = isinstance(data__command, (list, tuple))
            if data__command_is_list:
                data__command_len = len(data__command)
                for data__command_x, data__command_item in enumerate(data__command):
                    if not isinstance(data__command_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".command[{data__command_x}]".format(**locals()) + " must be string", value=data__command_item, name="" + (name_prefix or "data") + ".command[{data__command_x}]".format(**locals()) + "", definition={'type': 'string'}, rule='type')
        if "adopted" in data_keys:
            data_keys.remove("adopted")
            data__adopted = data["adopted"]
            if not isinstance(data__adopted, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted must be object", value=data__adopted, name="" + (name_prefix or "data") + ".adopted", definition={'type': 'object', 'additionalProperties': False, 'required': ['working_dir', 'config_files', 'matched_by', 'adopted_at'], 'description': "Written by 'upgrader init --adopt': the stack was started by hand, not by upgrader. Its containers (no io.upgrader labels) are this project's to stop when Compose recorded this working_dir for them.", 'properties': {'working_dir': {'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, 'config_files': {'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, 'matched_by': {'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, 'adopted_at': {'type': 'string', 'format': 'date-time'}}}, rule='type')
            data__adopted_is_dict = isinstance(data__adopted, dict)
            if data__adopted_is_dict:
                data__adopted__missing_keys = set(['working_dir', 'config_files', 'matched_by', 'adopted_at']) - data__adopted.keys()
                if data__adopted__missing_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted must contain " + (str(sorted(data__adopted__missing_keys)) + " properties"), value=data__adopted, name="" + (name_prefix or "data") + ".adopted", definition={'type': 'object', 'additionalProperties': False, 'required': ['working_dir', 'config_files', 'matched_by', 'adopted_at'], 'description': "Written by 'upgrader init --adopt': the stack was started by hand, not by upgrader. Its containers (no io.upgrader labels) are this project's to stop when Compose recorded this working_dir for them.", 'properties': {'working_dir': {'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, 'config_files': {'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, 'matched_by': {'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, 'adopted_at': {'type': 'string', 'format': 'date-time'}}}, rule='required')
                data__adopted_keys = set(data__adopted.keys())
                if "working_dir" in data__adopted_keys:
                    data__adopted_keys.remove("working_dir")
                    data__adopted__workingdir = data__adopted["working_dir"]
                    if not isinstance(data__adopted__workingdir, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted.working_dir must be string", value=data__adopted__workingdir, name="" + (name_prefix or "data") + ".adopted.working_dir", definition={'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, rule='type')
                if "config_files" in data__adopted_keys:
                    data__adopted_keys.remove("config_files")
                    data__adopted__configfiles = data__adopted["config_files"]
                    if not isinstance(data__adopted__configfiles, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted.config_files must be array", value=data__adopted__configfiles, name="" + (name_prefix or "data") + ".adopted.config_files", definition={'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, rule='type')
                    data__adopted__configfiles_is_list = isinstance(data__adopted__configfiles, (list, tuple))
                    if data__adopted__configfiles_is_list:
                        data__adopted__configfiles_len = len(data__adopted__configfiles)
                        for data__adopted__configfiles_x, data__adopted__configfiles_item in enumerate(data__adopted__configfiles):
                            if not isinstance(data__adopted__configfiles_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted.config_files[{data__adopted__configfiles_x}]".format(**locals()) + " must be string", value=data__adopted__configfiles_item, name="" + (name_prefix or "data") + ".adopted.config_files[{data__adopted__configfiles_x}]".format(**locals()) + "", definition={'type': 'string'}, rule='type')
                if "matched_by" in data__adopted_keys:
                    data__adopted_keys.remove("matched_by")
                    data__adopted__matchedby = data__adopted["matched_by"]
                    if not (isinstance(data__adopted__matchedby, str) and data__adopted__matchedby == 'version' or isinstance(data__adopted__matchedby, str) and data__adopted__matchedby == 'images'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted.matched_by must be one of ['version', 'images']", value=data__adopted__matchedby, name="" + (name_prefix or "data") + ".adopted.matched_by", definition={'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, rule='enum')
                if "adopted_at" in data__adopted_keys:
                    data__adopted_keys.remove("adopted_at")
                    data__adopted__adoptedat = data__adopted["adopted_at"]
                    if not isinstance(data__adopted__adoptedat, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted.adopted_at must be string", value=data__adopted__adoptedat, name="" + (name_prefix or "data") + ".adopted.adopted_at", definition={'type': 'string', 'format': 'date-time'}, rule='type')
                if data__adopted_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".adopted must not contain "+str(data__adopted_keys)+" properties", value=data__adopted, name="" + (name_prefix or "data") + ".adopted", definition={'type': 'object', 'additionalProperties': False, 'required': ['working_dir', 'config_files', 'matched_by', 'adopted_at'], 'description': "Written by 'upgrader init --adopt': the stack was started by hand, not by upgrader. Its containers (no io.upgrader labels) are this project's to stop when Compose recorded this working_dir for them.", 'properties': {'working_dir': {'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, 'config_files': {'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, 'matched_by': {'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, 'adopted_at': {'type': 'string', 'format': 'date-time'}}}, rule='additionalProperties')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/state/installed.schema.json', 'title': 'state/<project>/installed.json', 'description': 'The release that runs now; written only when a run completes or a rollback ends.', 'type': 'object', 'additionalProperties': False, 'required': ['schema', 'version', 'release', 'images', 'installed_at'], 'properties': {'schema': {'const': 1}, 'version': {'type': 'string'}, 'release': {'type': ['object', 'null'], 'description': 'The feed entry it was installed from.'}, 'images': {'type': 'object', 'additionalProperties': {'type': 'string'}, 'description': 'Image reference → digest.'}, 'installed_at': {'type': 'string', 'format': 'date-time'}, 'run_id': {'type': ['string', 'null']}, 'previous': {'type': ['object', 'null'], 'description': "The installed.json this one replaced, without its own 'previous'."}, 'reported_by': {'enum': ['installed_version'], 'description': "Not installed by upgrader: project.yaml's installed_version command reported this version (DESIGN §12); written as the 'previous' of the first run that upgraded from it, and back as installed.json when that run is rolled back."}, 'command': {'type': 'array', 'items': {'type': 'string'}, 'description': 'With reported_by: the command that reported the version.'}, 'adopted': {'type': 'object', 'additionalProperties': False, 'required': ['working_dir', 'config_files', 'matched_by', 'adopted_at'], 'description': "Written by 'upgrader init --adopt': the stack was started by hand, not by upgrader. Its containers (no io.upgrader labels) are this project's to stop when Compose recorded this working_dir for them.", 'properties': {'working_dir': {'type': 'string', 'description': "The folder the stack was started from (the containers' com.docker.compose.project.working_dir)."}, 'config_files': {'type': 'array', 'items': {'type': 'string'}, 'description': 'The Compose files it was started with, copied (as Compose resolves them) into export/compose.yaml.'}, 'matched_by': {'enum': ['version', 'images'], 'description': "How the version was learnt: --version, or the feed's newest release whose images the containers run."}, 'adopted_at': {'type': 'string', 'format': 'date-time'}}}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_state_installed_schema_json
