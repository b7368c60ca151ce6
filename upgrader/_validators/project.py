# Generated from project.schema.json by `make validators`; do not edit.
# ruff: noqa
# mypy: ignore-errors
SCHEMA_SHA256 = "41de566a997103a2f88e75710f76a4513c887626b1093b93fc50f69bf282ad47"
VERSION = "2.22.3"
from decimal import Decimal
import re
from upgrader._validators import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^(https?|file)://': re.compile('^(https?|file)://'),
    '^(https?|file|gs)://': re.compile('^(https?|file|gs)://'),
    '^[^/\\\\]+$': re.compile('^[^/\\\\]+\\Z'),
    '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$': re.compile('^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\Z'),
    '^[A-Za-z_][A-Za-z0-9_]*$': re.compile('^[A-Za-z_][A-Za-z0-9_]*\\Z'),
    '^[0-9]+[smhdw]$': re.compile('^[0-9]+[smhdw]\\Z'),
    '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$': re.compile('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\Z'),
    '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$': re.compile('^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\\Z'),
    '^/': re.compile('^/'),
    '^https?://': re.compile('^https?://')
}

NoneType = type(None)

def validate_https___upgrader_invalid_project_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/project.schema.json', 'title': 'projects/<name>/project.yaml', 'description': "An operator's settings for one project. upgrader never writes this file (DESIGN §2).", 'type': 'object', 'additionalProperties': False, 'properties': {'feed': {'oneOf': [{'type': 'string', 'pattern': '^(https?|file)://', 'description': "The release feed's URL; its index is <feed>/index.json (the same as {kind: index, url})."}, {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'url'], 'description': 'A feed of another kind (DESIGN §12): kind index reads <url>/index.json; kind listing reads a plain list of archive names.', 'properties': {'kind': {'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, 'url': {'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, 'listing': {'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, 'version_pattern': {'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, 'credentials': {'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}}}], 'description': 'The release feed: a URL (an index feed), or a mapping {kind, url, ...}.'}, 'token_file': {'type': 'string', 'minLength': 1, 'description': "File holding the feed's bearer token, relative to the project folder; UPGRADER_FEED_TOKEN_<NAME> wins (UPGRADER_FEED_TOKEN only with -n NAME).", 'examples': ['feed.token']}, 'public_key': {'type': 'string', 'minLength': 1, 'description': 'Base64 Ed25519 public key; when set, <feed>/index.json.sig must verify.'}, 'stops': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'}, 'description': 'Upgrade stops the feed cannot state (a listing has no min_from): a server below a stop goes to it before any newer release.', 'examples': [['3.29.0']]}, 'allow': {'enum': ['patch', 'minor', 'major'], 'description': 'How far an unattended run may move (default minor).'}, 'workflow': {'type': 'string', 'minLength': 1, 'description': 'A workflow shipped in workflows/ by name, or a path to a YAML file (relative to the project folder).', 'examples': ['upgrade']}, 'health_timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 86400, 'description': 'Seconds to wait for every service to be healthy after start (default 300).'}, 'keep_releases': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Extracted releases kept besides the running one (default 2).'}, 'values': {'type': 'object', 'propertyNames': {'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'}, 'additionalProperties': {'type': ['string', 'number', 'boolean']}, 'description': "Written into export/.env over the release's defaults.env."}, 'ca_bundle': {'type': 'string', 'minLength': 1, 'description': "A CA bundle (PEM) to verify the feed's TLS certificate with."}, 'jitter': {'type': 'number', 'minimum': 0, 'maximum': 86400, 'description': 'Seconds of random delay before a cron run.'}, 'min_age': {'type': 'string', 'pattern': '^[0-9]+[smhdw]$', 'description': 'Take a release only once it has been public this long.', 'examples': ['3d']}, 'product': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', 'description': "The product this project runs (index.json's and release.json's 'product'); a feed or package of another product is refused. Default: the installed release's product.", 'examples': ['acme-server']}, 'refuse': {'type': 'array', 'uniqueItems': True, 'items': {'enum': ['privileged', 'host_mounts', 'host_namespaces', 'docker_socket']}, 'description': "What a release's compose.yaml may not ask for: it is refused when extracted, before the server stops (without this key, check and doctor warn)."}, 'snapshot': {'type': 'object', 'additionalProperties': False, 'description': "Data snapshots (DESIGN §9): the project's data is copied while the server is stopped, and a rollback of a run that never completed puts it back. On by default in the shipped workflows.", 'properties': {'enabled': {'type': 'boolean', 'description': 'Take a snapshot at each upgrade (default true).'}, 'volumes': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, 'description': 'More named volumes to include (e.g. external ones); every named volume of the Compose project is included anyway.'}, 'paths': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^/'}, 'description': 'Absolute host folders the stack bind-mounts for its data, included too.'}, 'method': {'enum': ['auto', 'host', 'engine'], 'description': "host: copy from the volume's mountpoint (needs root); engine: through the Docker Engine's archive API; auto (default): host where the mountpoint is readable, else engine."}, 'keep': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, 'restore_on_failure': {'type': 'boolean', 'description': 'A rollback of a run that never completed restores the snapshot (default true).'}}}, 'installed_version': {'type': 'object', 'additionalProperties': False, 'required': ['run'], 'description': 'For a server upgrader did not install (DESIGN §12): while state/<name>/installed.json is absent, the first semantic version this command prints is the installed version, so the first run upgrades the running server instead of installing over it. Run like a workflow\'s command step: never through a shell, standard input closed, placeholders {root} {project} {name} expanded. Example: {run: ["{root}/ac-self-hosted.sh", "-v"]}.', 'properties': {'run': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, 'cwd': {'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, 'timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}}}, 'notify': {'type': 'object', 'additionalProperties': False, 'description': 'Who hears about finished runs.', 'properties': {'webhook': {'type': 'string', 'pattern': '^https?://'}, 'apprise': {'type': 'array', 'items': {'type': 'string', 'minLength': 1}}, 'command': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}}, 'when': {'enum': ['always', 'change', 'failure']}}}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "feed" in data_keys:
            data_keys.remove("feed")
            data__feed = data["feed"]
            data__feed_one_of_count1 = 0
            if data__feed_one_of_count1 < 2:
                try:
                    if not isinstance(data__feed, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must be string", value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'string', 'pattern': '^(https?|file)://', 'description': "The release feed's URL; its index is <feed>/index.json (the same as {kind: index, url})."}, rule='type')
                    if isinstance(data__feed, str):
                        if not REGEX_PATTERNS['^(https?|file)://'].search(data__feed):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must match pattern ^(https?|file)://", value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'string', 'pattern': '^(https?|file)://', 'description': "The release feed's URL; its index is <feed>/index.json (the same as {kind: index, url})."}, rule='pattern')
                    data__feed_one_of_count1 += 1
                except (JsonSchemaValueException, JsonSchemaValuesException): pass
            if data__feed_one_of_count1 < 2:
                try:
                    if not isinstance(data__feed, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must be object", value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'object', 'additionalProperties': False, 'required': ['kind', 'url'], 'description': 'A feed of another kind (DESIGN §12): kind index reads <url>/index.json; kind listing reads a plain list of archive names.', 'properties': {'kind': {'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, 'url': {'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, 'listing': {'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, 'version_pattern': {'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, 'credentials': {'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}}}, rule='type')
                    data__feed_is_dict = isinstance(data__feed, dict)
                    if data__feed_is_dict:
                        data__feed__missing_keys = set(['kind', 'url']) - data__feed.keys()
                        if data__feed__missing_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must contain " + (str(sorted(data__feed__missing_keys)) + " properties"), value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'object', 'additionalProperties': False, 'required': ['kind', 'url'], 'description': 'A feed of another kind (DESIGN §12): kind index reads <url>/index.json; kind listing reads a plain list of archive names.', 'properties': {'kind': {'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, 'url': {'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, 'listing': {'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, 'version_pattern': {'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, 'credentials': {'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}}}, rule='required')
                        data__feed_keys = set(data__feed.keys())
                        if "kind" in data__feed_keys:
                            data__feed_keys.remove("kind")
                            data__feed__kind = data__feed["kind"]
                            if not (isinstance(data__feed__kind, str) and data__feed__kind == 'index' or isinstance(data__feed__kind, str) and data__feed__kind == 'listing'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.kind must be one of ['index', 'listing']", value=data__feed__kind, name="" + (name_prefix or "data") + ".feed.kind", definition={'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, rule='enum')
                        if "url" in data__feed_keys:
                            data__feed_keys.remove("url")
                            data__feed__url = data__feed["url"]
                            if not isinstance(data__feed__url, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.url must be string", value=data__feed__url, name="" + (name_prefix or "data") + ".feed.url", definition={'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, rule='type')
                            if isinstance(data__feed__url, str):
                                if not REGEX_PATTERNS['^(https?|file|gs)://'].search(data__feed__url):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.url must match pattern ^(https?|file|gs)://", value=data__feed__url, name="" + (name_prefix or "data") + ".feed.url", definition={'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, rule='pattern')
                        if "listing" in data__feed_keys:
                            data__feed_keys.remove("listing")
                            data__feed__listing = data__feed["listing"]
                            if not isinstance(data__feed__listing, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.listing must be string", value=data__feed__listing, name="" + (name_prefix or "data") + ".feed.listing", definition={'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, rule='type')
                            if isinstance(data__feed__listing, str):
                                data__feed__listing_len = len(data__feed__listing)
                                if data__feed__listing_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.listing must be longer than or equal to 1 characters", value=data__feed__listing, name="" + (name_prefix or "data") + ".feed.listing", definition={'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, rule='minLength')
                                if not REGEX_PATTERNS['^[^/\\\\]+$'].search(data__feed__listing):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.listing must match pattern ^[^/\\\\]+$", value=data__feed__listing, name="" + (name_prefix or "data") + ".feed.listing", definition={'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, rule='pattern')
                        if "version_pattern" in data__feed_keys:
                            data__feed_keys.remove("version_pattern")
                            data__feed__versionpattern = data__feed["version_pattern"]
                            if not isinstance(data__feed__versionpattern, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.version_pattern must be string", value=data__feed__versionpattern, name="" + (name_prefix or "data") + ".feed.version_pattern", definition={'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, rule='type')
                            if isinstance(data__feed__versionpattern, str):
                                data__feed__versionpattern_len = len(data__feed__versionpattern)
                                if data__feed__versionpattern_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.version_pattern must be longer than or equal to 1 characters", value=data__feed__versionpattern, name="" + (name_prefix or "data") + ".feed.version_pattern", definition={'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, rule='minLength')
                        if "credentials" in data__feed_keys:
                            data__feed_keys.remove("credentials")
                            data__feed__credentials = data__feed["credentials"]
                            if not isinstance(data__feed__credentials, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.credentials must be string", value=data__feed__credentials, name="" + (name_prefix or "data") + ".feed.credentials", definition={'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}, rule='type')
                            if isinstance(data__feed__credentials, str):
                                data__feed__credentials_len = len(data__feed__credentials)
                                if data__feed__credentials_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed.credentials must be longer than or equal to 1 characters", value=data__feed__credentials, name="" + (name_prefix or "data") + ".feed.credentials", definition={'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}, rule='minLength')
                        if data__feed_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must not contain "+str(data__feed_keys)+" properties", value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'type': 'object', 'additionalProperties': False, 'required': ['kind', 'url'], 'description': 'A feed of another kind (DESIGN §12): kind index reads <url>/index.json; kind listing reads a plain list of archive names.', 'properties': {'kind': {'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, 'url': {'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, 'listing': {'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, 'version_pattern': {'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, 'credentials': {'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}}}, rule='additionalProperties')
                    data__feed_one_of_count1 += 1
                except (JsonSchemaValueException, JsonSchemaValuesException): pass
            if data__feed_one_of_count1 != 1:
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".feed must be valid exactly by one definition" + (" (" + str(data__feed_one_of_count1) + " matches found)"), value=data__feed, name="" + (name_prefix or "data") + ".feed", definition={'oneOf': [{'type': 'string', 'pattern': '^(https?|file)://', 'description': "The release feed's URL; its index is <feed>/index.json (the same as {kind: index, url})."}, {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'url'], 'description': 'A feed of another kind (DESIGN §12): kind index reads <url>/index.json; kind listing reads a plain list of archive names.', 'properties': {'kind': {'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, 'url': {'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, 'listing': {'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, 'version_pattern': {'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, 'credentials': {'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}}}], 'description': 'The release feed: a URL (an index feed), or a mapping {kind, url, ...}.'}, rule='oneOf')
        if "token_file" in data_keys:
            data_keys.remove("token_file")
            data__tokenfile = data["token_file"]
            if not isinstance(data__tokenfile, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".token_file must be string", value=data__tokenfile, name="" + (name_prefix or "data") + ".token_file", definition={'type': 'string', 'minLength': 1, 'description': "File holding the feed's bearer token, relative to the project folder; UPGRADER_FEED_TOKEN_<NAME> wins (UPGRADER_FEED_TOKEN only with -n NAME).", 'examples': ['feed.token']}, rule='type')
            if isinstance(data__tokenfile, str):
                data__tokenfile_len = len(data__tokenfile)
                if data__tokenfile_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".token_file must be longer than or equal to 1 characters", value=data__tokenfile, name="" + (name_prefix or "data") + ".token_file", definition={'type': 'string', 'minLength': 1, 'description': "File holding the feed's bearer token, relative to the project folder; UPGRADER_FEED_TOKEN_<NAME> wins (UPGRADER_FEED_TOKEN only with -n NAME).", 'examples': ['feed.token']}, rule='minLength')
        if "public_key" in data_keys:
            data_keys.remove("public_key")
            data__publickey = data["public_key"]
            if not isinstance(data__publickey, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".public_key must be string", value=data__publickey, name="" + (name_prefix or "data") + ".public_key", definition={'type': 'string', 'minLength': 1, 'description': 'Base64 Ed25519 public key; when set, <feed>/index.json.sig must verify.'}, rule='type')
            if isinstance(data__publickey, str):
                data__publickey_len = len(data__publickey)
                if data__publickey_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".public_key must be longer than or equal to 1 characters", value=data__publickey, name="" + (name_prefix or "data") + ".public_key", definition={'type': 'string', 'minLength': 1, 'description': 'Base64 Ed25519 public key; when set, <feed>/index.json.sig must verify.'}, rule='minLength')
        if "stops" in data_keys:
            data_keys.remove("stops")
            data__stops = data["stops"]
            if not isinstance(data__stops, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".stops must be array", value=data__stops, name="" + (name_prefix or "data") + ".stops", definition={'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'}, 'description': 'Upgrade stops the feed cannot state (a listing has no min_from): a server below a stop goes to it before any newer release.', 'examples': [['3.29.0']]}, rule='type')
            data__stops_is_list = isinstance(data__stops, (list, tuple))
            if data__stops_is_list:
                def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
                data__stops_len = len(data__stops)
                if data__stops_len > len(set(fn(data__stops_x) for data__stops_x in data__stops)):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".stops must contain unique items", value=data__stops, name="" + (name_prefix or "data") + ".stops", definition={'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'}, 'description': 'Upgrade stops the feed cannot state (a listing has no min_from): a server below a stop goes to it before any newer release.', 'examples': [['3.29.0']]}, rule='uniqueItems')
                for data__stops_x, data__stops_item in enumerate(data__stops):
                    if not isinstance(data__stops_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".stops[{data__stops_x}]".format(**locals()) + " must be string", value=data__stops_item, name="" + (name_prefix or "data") + ".stops[{data__stops_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'}, rule='type')
                    if isinstance(data__stops_item, str):
                        if not REGEX_PATTERNS['^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'].search(data__stops_item):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".stops[{data__stops_x}]".format(**locals()) + " must match pattern ^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$", value=data__stops_item, name="" + (name_prefix or "data") + ".stops[{data__stops_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'}, rule='pattern')
        if "allow" in data_keys:
            data_keys.remove("allow")
            data__allow = data["allow"]
            if not (isinstance(data__allow, str) and data__allow == 'patch' or isinstance(data__allow, str) and data__allow == 'minor' or isinstance(data__allow, str) and data__allow == 'major'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".allow must be one of ['patch', 'minor', 'major']", value=data__allow, name="" + (name_prefix or "data") + ".allow", definition={'enum': ['patch', 'minor', 'major'], 'description': 'How far an unattended run may move (default minor).'}, rule='enum')
        if "workflow" in data_keys:
            data_keys.remove("workflow")
            data__workflow = data["workflow"]
            if not isinstance(data__workflow, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow must be string", value=data__workflow, name="" + (name_prefix or "data") + ".workflow", definition={'type': 'string', 'minLength': 1, 'description': 'A workflow shipped in workflows/ by name, or a path to a YAML file (relative to the project folder).', 'examples': ['upgrade']}, rule='type')
            if isinstance(data__workflow, str):
                data__workflow_len = len(data__workflow)
                if data__workflow_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".workflow must be longer than or equal to 1 characters", value=data__workflow, name="" + (name_prefix or "data") + ".workflow", definition={'type': 'string', 'minLength': 1, 'description': 'A workflow shipped in workflows/ by name, or a path to a YAML file (relative to the project folder).', 'examples': ['upgrade']}, rule='minLength')
        if "health_timeout" in data_keys:
            data_keys.remove("health_timeout")
            data__healthtimeout = data["health_timeout"]
            if not isinstance(data__healthtimeout, (int, float, Decimal)) or isinstance(data__healthtimeout, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".health_timeout must be number", value=data__healthtimeout, name="" + (name_prefix or "data") + ".health_timeout", definition={'type': 'number', 'exclusiveMinimum': 0, 'maximum': 86400, 'description': 'Seconds to wait for every service to be healthy after start (default 300).'}, rule='type')
            if isinstance(data__healthtimeout, (int, float, Decimal)) and not isinstance(data__healthtimeout, bool):
                if data__healthtimeout > 86400:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".health_timeout must be smaller than or equal to 86400", value=data__healthtimeout, name="" + (name_prefix or "data") + ".health_timeout", definition={'type': 'number', 'exclusiveMinimum': 0, 'maximum': 86400, 'description': 'Seconds to wait for every service to be healthy after start (default 300).'}, rule='maximum')
                if data__healthtimeout <= 0:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".health_timeout must be bigger than 0", value=data__healthtimeout, name="" + (name_prefix or "data") + ".health_timeout", definition={'type': 'number', 'exclusiveMinimum': 0, 'maximum': 86400, 'description': 'Seconds to wait for every service to be healthy after start (default 300).'}, rule='exclusiveMinimum')
        if "keep_releases" in data_keys:
            data_keys.remove("keep_releases")
            data__keepreleases = data["keep_releases"]
            if not isinstance(data__keepreleases, (int)) and not (isinstance(data__keepreleases, float) and data__keepreleases.is_integer()) or isinstance(data__keepreleases, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".keep_releases must be integer", value=data__keepreleases, name="" + (name_prefix or "data") + ".keep_releases", definition={'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Extracted releases kept besides the running one (default 2).'}, rule='type')
            if isinstance(data__keepreleases, (int, float, Decimal)) and not isinstance(data__keepreleases, bool):
                if data__keepreleases < 0:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".keep_releases must be bigger than or equal to 0", value=data__keepreleases, name="" + (name_prefix or "data") + ".keep_releases", definition={'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Extracted releases kept besides the running one (default 2).'}, rule='minimum')
                if data__keepreleases > 1000:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".keep_releases must be smaller than or equal to 1000", value=data__keepreleases, name="" + (name_prefix or "data") + ".keep_releases", definition={'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Extracted releases kept besides the running one (default 2).'}, rule='maximum')
        if "values" in data_keys:
            data_keys.remove("values")
            data__values = data["values"]
            if not isinstance(data__values, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".values must be object", value=data__values, name="" + (name_prefix or "data") + ".values", definition={'type': 'object', 'propertyNames': {'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'}, 'additionalProperties': {'type': ['string', 'number', 'boolean']}, 'description': "Written into export/.env over the release's defaults.env."}, rule='type')
            data__values_is_dict = isinstance(data__values, dict)
            if data__values_is_dict:
                data__values_keys = set(data__values.keys())
                for data__values_key in data__values_keys:
                    if data__values_key not in []:
                        data__values_value = data__values.get(data__values_key)
                        if not isinstance(data__values_value, (str, int, float, Decimal, bool)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".values.{data__values_key}".format(**locals()) + " must be string or number or boolean", value=data__values_value, name="" + (name_prefix or "data") + ".values.{data__values_key}".format(**locals()) + "", definition={'type': ['string', 'number', 'boolean']}, rule='type')
                data__values_len = len(data__values)
                if data__values_len != 0:
                    data__values_property_names = True
                    for data__values_key in data__values:
                        try:
                            if isinstance(data__values_key, str):
                                if not REGEX_PATTERNS['^[A-Za-z_][A-Za-z0-9_]*$'].search(data__values_key):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".values must match pattern ^[A-Za-z_][A-Za-z0-9_]*$", value=data__values_key, name="" + (name_prefix or "data") + ".values", definition={'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'}, rule='pattern')
                        except (JsonSchemaValueException, JsonSchemaValuesException):
                            data__values_property_names = False
                    if not data__values_property_names:
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".values must be named by propertyName definition", value=data__values, name="" + (name_prefix or "data") + ".values", definition={'type': 'object', 'propertyNames': {'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'}, 'additionalProperties': {'type': ['string', 'number', 'boolean']}, 'description': "Written into export/.env over the release's defaults.env."}, rule='propertyNames')
        if "ca_bundle" in data_keys:
            data_keys.remove("ca_bundle")
            data__cabundle = data["ca_bundle"]
            if not isinstance(data__cabundle, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".ca_bundle must be string", value=data__cabundle, name="" + (name_prefix or "data") + ".ca_bundle", definition={'type': 'string', 'minLength': 1, 'description': "A CA bundle (PEM) to verify the feed's TLS certificate with."}, rule='type')
            if isinstance(data__cabundle, str):
                data__cabundle_len = len(data__cabundle)
                if data__cabundle_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".ca_bundle must be longer than or equal to 1 characters", value=data__cabundle, name="" + (name_prefix or "data") + ".ca_bundle", definition={'type': 'string', 'minLength': 1, 'description': "A CA bundle (PEM) to verify the feed's TLS certificate with."}, rule='minLength')
        if "jitter" in data_keys:
            data_keys.remove("jitter")
            data__jitter = data["jitter"]
            if not isinstance(data__jitter, (int, float, Decimal)) or isinstance(data__jitter, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".jitter must be number", value=data__jitter, name="" + (name_prefix or "data") + ".jitter", definition={'type': 'number', 'minimum': 0, 'maximum': 86400, 'description': 'Seconds of random delay before a cron run.'}, rule='type')
            if isinstance(data__jitter, (int, float, Decimal)) and not isinstance(data__jitter, bool):
                if data__jitter < 0:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".jitter must be bigger than or equal to 0", value=data__jitter, name="" + (name_prefix or "data") + ".jitter", definition={'type': 'number', 'minimum': 0, 'maximum': 86400, 'description': 'Seconds of random delay before a cron run.'}, rule='minimum')
                if data__jitter > 86400:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".jitter must be smaller than or equal to 86400", value=data__jitter, name="" + (name_prefix or "data") + ".jitter", definition={'type': 'number', 'minimum': 0, 'maximum': 86400, 'description': 'Seconds of random delay before a cron run.'}, rule='maximum')
        if "min_age" in data_keys:
            data_keys.remove("min_age")
            data__minage = data["min_age"]
            if not isinstance(data__minage, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".min_age must be string", value=data__minage, name="" + (name_prefix or "data") + ".min_age", definition={'type': 'string', 'pattern': '^[0-9]+[smhdw]$', 'description': 'Take a release only once it has been public this long.', 'examples': ['3d']}, rule='type')
            if isinstance(data__minage, str):
                if not REGEX_PATTERNS['^[0-9]+[smhdw]$'].search(data__minage):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".min_age must match pattern ^[0-9]+[smhdw]$", value=data__minage, name="" + (name_prefix or "data") + ".min_age", definition={'type': 'string', 'pattern': '^[0-9]+[smhdw]$', 'description': 'Take a release only once it has been public this long.', 'examples': ['3d']}, rule='pattern')
        if "product" in data_keys:
            data_keys.remove("product")
            data__product = data["product"]
            if not isinstance(data__product, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".product must be string", value=data__product, name="" + (name_prefix or "data") + ".product", definition={'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', 'description': "The product this project runs (index.json's and release.json's 'product'); a feed or package of another product is refused. Default: the installed release's product.", 'examples': ['acme-server']}, rule='type')
            if isinstance(data__product, str):
                if not REGEX_PATTERNS['^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'].search(data__product):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".product must match pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", value=data__product, name="" + (name_prefix or "data") + ".product", definition={'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', 'description': "The product this project runs (index.json's and release.json's 'product'); a feed or package of another product is refused. Default: the installed release's product.", 'examples': ['acme-server']}, rule='pattern')
        if "refuse" in data_keys:
            data_keys.remove("refuse")
            data__refuse = data["refuse"]
            if not isinstance(data__refuse, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".refuse must be array", value=data__refuse, name="" + (name_prefix or "data") + ".refuse", definition={'type': 'array', 'uniqueItems': True, 'items': {'enum': ['privileged', 'host_mounts', 'host_namespaces', 'docker_socket']}, 'description': "What a release's compose.yaml may not ask for: it is refused when extracted, before the server stops (without this key, check and doctor warn)."}, rule='type')
            data__refuse_is_list = isinstance(data__refuse, (list, tuple))
            if data__refuse_is_list:
                def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
                data__refuse_len = len(data__refuse)
                if data__refuse_len > len(set(fn(data__refuse_x) for data__refuse_x in data__refuse)):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".refuse must contain unique items", value=data__refuse, name="" + (name_prefix or "data") + ".refuse", definition={'type': 'array', 'uniqueItems': True, 'items': {'enum': ['privileged', 'host_mounts', 'host_namespaces', 'docker_socket']}, 'description': "What a release's compose.yaml may not ask for: it is refused when extracted, before the server stops (without this key, check and doctor warn)."}, rule='uniqueItems')
                for data__refuse_x, data__refuse_item in enumerate(data__refuse):
                    if not (isinstance(data__refuse_item, str) and data__refuse_item == 'privileged' or isinstance(data__refuse_item, str) and data__refuse_item == 'host_mounts' or isinstance(data__refuse_item, str) and data__refuse_item == 'host_namespaces' or isinstance(data__refuse_item, str) and data__refuse_item == 'docker_socket'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".refuse[{data__refuse_x}]".format(**locals()) + " must be one of ['privileged', 'host_mounts', 'host_namespaces', 'docker_socket']", value=data__refuse_item, name="" + (name_prefix or "data") + ".refuse[{data__refuse_x}]".format(**locals()) + "", definition={'enum': ['privileged', 'host_mounts', 'host_namespaces', 'docker_socket']}, rule='enum')
        if "snapshot" in data_keys:
            data_keys.remove("snapshot")
            data__snapshot = data["snapshot"]
            if not isinstance(data__snapshot, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot must be object", value=data__snapshot, name="" + (name_prefix or "data") + ".snapshot", definition={'type': 'object', 'additionalProperties': False, 'description': "Data snapshots (DESIGN §9): the project's data is copied while the server is stopped, and a rollback of a run that never completed puts it back. On by default in the shipped workflows.", 'properties': {'enabled': {'type': 'boolean', 'description': 'Take a snapshot at each upgrade (default true).'}, 'volumes': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, 'description': 'More named volumes to include (e.g. external ones); every named volume of the Compose project is included anyway.'}, 'paths': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^/'}, 'description': 'Absolute host folders the stack bind-mounts for its data, included too.'}, 'method': {'enum': ['auto', 'host', 'engine'], 'description': "host: copy from the volume's mountpoint (needs root); engine: through the Docker Engine's archive API; auto (default): host where the mountpoint is readable, else engine."}, 'keep': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, 'restore_on_failure': {'type': 'boolean', 'description': 'A rollback of a run that never completed restores the snapshot (default true).'}}}, rule='type')
            data__snapshot_is_dict = isinstance(data__snapshot, dict)
            if data__snapshot_is_dict:
                data__snapshot_keys = set(data__snapshot.keys())
                if "enabled" in data__snapshot_keys:
                    data__snapshot_keys.remove("enabled")
                    data__snapshot__enabled = data__snapshot["enabled"]
                    if not isinstance(data__snapshot__enabled, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.enabled must be boolean", value=data__snapshot__enabled, name="" + (name_prefix or "data") + ".snapshot.enabled", definition={'type': 'boolean', 'description': 'Take a snapshot at each upgrade (default true).'}, rule='type')
                if "volumes" in data__snapshot_keys:
                    data__snapshot_keys.remove("volumes")
                    data__snapshot__volumes = data__snapshot["volumes"]
                    if not isinstance(data__snapshot__volumes, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.volumes must be array", value=data__snapshot__volumes, name="" + (name_prefix or "data") + ".snapshot.volumes", definition={'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, 'description': 'More named volumes to include (e.g. external ones); every named volume of the Compose project is included anyway.'}, rule='type')
                    data__snapshot__volumes_is_list = isinstance(data__snapshot__volumes, (list, tuple))
                    if data__snapshot__volumes_is_list:
                        def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
                        data__snapshot__volumes_len = len(data__snapshot__volumes)
                        if data__snapshot__volumes_len > len(set(fn(data__snapshot__volumes_x) for data__snapshot__volumes_x in data__snapshot__volumes)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.volumes must contain unique items", value=data__snapshot__volumes, name="" + (name_prefix or "data") + ".snapshot.volumes", definition={'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, 'description': 'More named volumes to include (e.g. external ones); every named volume of the Compose project is included anyway.'}, rule='uniqueItems')
                        for data__snapshot__volumes_x, data__snapshot__volumes_item in enumerate(data__snapshot__volumes):
                            if not isinstance(data__snapshot__volumes_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.volumes[{data__snapshot__volumes_x}]".format(**locals()) + " must be string", value=data__snapshot__volumes_item, name="" + (name_prefix or "data") + ".snapshot.volumes[{data__snapshot__volumes_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, rule='type')
                            if isinstance(data__snapshot__volumes_item, str):
                                if not REGEX_PATTERNS['^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'].search(data__snapshot__volumes_item):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.volumes[{data__snapshot__volumes_x}]".format(**locals()) + " must match pattern ^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$", value=data__snapshot__volumes_item, name="" + (name_prefix or "data") + ".snapshot.volumes[{data__snapshot__volumes_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, rule='pattern')
                if "paths" in data__snapshot_keys:
                    data__snapshot_keys.remove("paths")
                    data__snapshot__paths = data__snapshot["paths"]
                    if not isinstance(data__snapshot__paths, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.paths must be array", value=data__snapshot__paths, name="" + (name_prefix or "data") + ".snapshot.paths", definition={'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^/'}, 'description': 'Absolute host folders the stack bind-mounts for its data, included too.'}, rule='type')
                    data__snapshot__paths_is_list = isinstance(data__snapshot__paths, (list, tuple))
                    if data__snapshot__paths_is_list:
                        def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
                        data__snapshot__paths_len = len(data__snapshot__paths)
                        if data__snapshot__paths_len > len(set(fn(data__snapshot__paths_x) for data__snapshot__paths_x in data__snapshot__paths)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.paths must contain unique items", value=data__snapshot__paths, name="" + (name_prefix or "data") + ".snapshot.paths", definition={'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^/'}, 'description': 'Absolute host folders the stack bind-mounts for its data, included too.'}, rule='uniqueItems')
                        for data__snapshot__paths_x, data__snapshot__paths_item in enumerate(data__snapshot__paths):
                            if not isinstance(data__snapshot__paths_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.paths[{data__snapshot__paths_x}]".format(**locals()) + " must be string", value=data__snapshot__paths_item, name="" + (name_prefix or "data") + ".snapshot.paths[{data__snapshot__paths_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^/'}, rule='type')
                            if isinstance(data__snapshot__paths_item, str):
                                if not REGEX_PATTERNS['^/'].search(data__snapshot__paths_item):
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.paths[{data__snapshot__paths_x}]".format(**locals()) + " must match pattern ^/", value=data__snapshot__paths_item, name="" + (name_prefix or "data") + ".snapshot.paths[{data__snapshot__paths_x}]".format(**locals()) + "", definition={'type': 'string', 'pattern': '^/'}, rule='pattern')
                if "method" in data__snapshot_keys:
                    data__snapshot_keys.remove("method")
                    data__snapshot__method = data__snapshot["method"]
                    if not (isinstance(data__snapshot__method, str) and data__snapshot__method == 'auto' or isinstance(data__snapshot__method, str) and data__snapshot__method == 'host' or isinstance(data__snapshot__method, str) and data__snapshot__method == 'engine'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.method must be one of ['auto', 'host', 'engine']", value=data__snapshot__method, name="" + (name_prefix or "data") + ".snapshot.method", definition={'enum': ['auto', 'host', 'engine'], 'description': "host: copy from the volume's mountpoint (needs root); engine: through the Docker Engine's archive API; auto (default): host where the mountpoint is readable, else engine."}, rule='enum')
                if "keep" in data__snapshot_keys:
                    data__snapshot_keys.remove("keep")
                    data__snapshot__keep = data__snapshot["keep"]
                    if not isinstance(data__snapshot__keep, (int)) and not (isinstance(data__snapshot__keep, float) and data__snapshot__keep.is_integer()) or isinstance(data__snapshot__keep, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.keep must be integer", value=data__snapshot__keep, name="" + (name_prefix or "data") + ".snapshot.keep", definition={'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, rule='type')
                    if isinstance(data__snapshot__keep, (int, float, Decimal)) and not isinstance(data__snapshot__keep, bool):
                        if data__snapshot__keep < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.keep must be bigger than or equal to 0", value=data__snapshot__keep, name="" + (name_prefix or "data") + ".snapshot.keep", definition={'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, rule='minimum')
                        if data__snapshot__keep > 1000:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.keep must be smaller than or equal to 1000", value=data__snapshot__keep, name="" + (name_prefix or "data") + ".snapshot.keep", definition={'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, rule='maximum')
                if "restore_on_failure" in data__snapshot_keys:
                    data__snapshot_keys.remove("restore_on_failure")
                    data__snapshot__restoreonfailure = data__snapshot["restore_on_failure"]
                    if not isinstance(data__snapshot__restoreonfailure, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot.restore_on_failure must be boolean", value=data__snapshot__restoreonfailure, name="" + (name_prefix or "data") + ".snapshot.restore_on_failure", definition={'type': 'boolean', 'description': 'A rollback of a run that never completed restores the snapshot (default true).'}, rule='type')
                if data__snapshot_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".snapshot must not contain "+str(data__snapshot_keys)+" properties", value=data__snapshot, name="" + (name_prefix or "data") + ".snapshot", definition={'type': 'object', 'additionalProperties': False, 'description': "Data snapshots (DESIGN §9): the project's data is copied while the server is stopped, and a rollback of a run that never completed puts it back. On by default in the shipped workflows.", 'properties': {'enabled': {'type': 'boolean', 'description': 'Take a snapshot at each upgrade (default true).'}, 'volumes': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, 'description': 'More named volumes to include (e.g. external ones); every named volume of the Compose project is included anyway.'}, 'paths': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^/'}, 'description': 'Absolute host folders the stack bind-mounts for its data, included too.'}, 'method': {'enum': ['auto', 'host', 'engine'], 'description': "host: copy from the volume's mountpoint (needs root); engine: through the Docker Engine's archive API; auto (default): host where the mountpoint is readable, else engine."}, 'keep': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, 'restore_on_failure': {'type': 'boolean', 'description': 'A rollback of a run that never completed restores the snapshot (default true).'}}}, rule='additionalProperties')
        if "installed_version" in data_keys:
            data_keys.remove("installed_version")
            data__installedversion = data["installed_version"]
            if not isinstance(data__installedversion, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version must be object", value=data__installedversion, name="" + (name_prefix or "data") + ".installed_version", definition={'type': 'object', 'additionalProperties': False, 'required': ['run'], 'description': 'For a server upgrader did not install (DESIGN §12): while state/<name>/installed.json is absent, the first semantic version this command prints is the installed version, so the first run upgrades the running server instead of installing over it. Run like a workflow\'s command step: never through a shell, standard input closed, placeholders {root} {project} {name} expanded. Example: {run: ["{root}/ac-self-hosted.sh", "-v"]}.', 'properties': {'run': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, 'cwd': {'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, 'timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}}}, rule='type')
            data__installedversion_is_dict = isinstance(data__installedversion, dict)
            if data__installedversion_is_dict:
                data__installedversion__missing_keys = set(['run']) - data__installedversion.keys()
                if data__installedversion__missing_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version must contain " + (str(sorted(data__installedversion__missing_keys)) + " properties"), value=data__installedversion, name="" + (name_prefix or "data") + ".installed_version", definition={'type': 'object', 'additionalProperties': False, 'required': ['run'], 'description': 'For a server upgrader did not install (DESIGN §12): while state/<name>/installed.json is absent, the first semantic version this command prints is the installed version, so the first run upgrades the running server instead of installing over it. Run like a workflow\'s command step: never through a shell, standard input closed, placeholders {root} {project} {name} expanded. Example: {run: ["{root}/ac-self-hosted.sh", "-v"]}.', 'properties': {'run': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, 'cwd': {'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, 'timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}}}, rule='required')
                data__installedversion_keys = set(data__installedversion.keys())
                if "run" in data__installedversion_keys:
                    data__installedversion_keys.remove("run")
                    data__installedversion__run = data__installedversion["run"]
                    if not isinstance(data__installedversion__run, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.run must be array", value=data__installedversion__run, name="" + (name_prefix or "data") + ".installed_version.run", definition={'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, rule='type')
                    data__installedversion__run_is_list = isinstance(data__installedversion__run, (list, tuple))
                    if data__installedversion__run_is_list:
                        data__installedversion__run_len = len(data__installedversion__run)
                        if data__installedversion__run_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.run must contain at least 1 items", value=data__installedversion__run, name="" + (name_prefix or "data") + ".installed_version.run", definition={'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, rule='minItems')
                        for data__installedversion__run_x, data__installedversion__run_item in enumerate(data__installedversion__run):
                            if not isinstance(data__installedversion__run_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.run[{data__installedversion__run_x}]".format(**locals()) + " must be string", value=data__installedversion__run_item, name="" + (name_prefix or "data") + ".installed_version.run[{data__installedversion__run_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='type')
                            if isinstance(data__installedversion__run_item, str):
                                data__installedversion__run_item_len = len(data__installedversion__run_item)
                                if data__installedversion__run_item_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.run[{data__installedversion__run_x}]".format(**locals()) + " must be longer than or equal to 1 characters", value=data__installedversion__run_item, name="" + (name_prefix or "data") + ".installed_version.run[{data__installedversion__run_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='minLength')
                if "cwd" in data__installedversion_keys:
                    data__installedversion_keys.remove("cwd")
                    data__installedversion__cwd = data__installedversion["cwd"]
                    if not isinstance(data__installedversion__cwd, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.cwd must be string", value=data__installedversion__cwd, name="" + (name_prefix or "data") + ".installed_version.cwd", definition={'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, rule='type')
                    if isinstance(data__installedversion__cwd, str):
                        data__installedversion__cwd_len = len(data__installedversion__cwd)
                        if data__installedversion__cwd_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.cwd must be longer than or equal to 1 characters", value=data__installedversion__cwd, name="" + (name_prefix or "data") + ".installed_version.cwd", definition={'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, rule='minLength')
                if "timeout" in data__installedversion_keys:
                    data__installedversion_keys.remove("timeout")
                    data__installedversion__timeout = data__installedversion["timeout"]
                    if not isinstance(data__installedversion__timeout, (int, float, Decimal)) or isinstance(data__installedversion__timeout, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.timeout must be number", value=data__installedversion__timeout, name="" + (name_prefix or "data") + ".installed_version.timeout", definition={'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}, rule='type')
                    if isinstance(data__installedversion__timeout, (int, float, Decimal)) and not isinstance(data__installedversion__timeout, bool):
                        if data__installedversion__timeout > 3600:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.timeout must be smaller than or equal to 3600", value=data__installedversion__timeout, name="" + (name_prefix or "data") + ".installed_version.timeout", definition={'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}, rule='maximum')
                        if data__installedversion__timeout <= 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version.timeout must be bigger than 0", value=data__installedversion__timeout, name="" + (name_prefix or "data") + ".installed_version.timeout", definition={'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}, rule='exclusiveMinimum')
                if data__installedversion_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".installed_version must not contain "+str(data__installedversion_keys)+" properties", value=data__installedversion, name="" + (name_prefix or "data") + ".installed_version", definition={'type': 'object', 'additionalProperties': False, 'required': ['run'], 'description': 'For a server upgrader did not install (DESIGN §12): while state/<name>/installed.json is absent, the first semantic version this command prints is the installed version, so the first run upgrades the running server instead of installing over it. Run like a workflow\'s command step: never through a shell, standard input closed, placeholders {root} {project} {name} expanded. Example: {run: ["{root}/ac-self-hosted.sh", "-v"]}.', 'properties': {'run': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, 'cwd': {'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, 'timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}}}, rule='additionalProperties')
        if "notify" in data_keys:
            data_keys.remove("notify")
            data__notify = data["notify"]
            if not isinstance(data__notify, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify must be object", value=data__notify, name="" + (name_prefix or "data") + ".notify", definition={'type': 'object', 'additionalProperties': False, 'description': 'Who hears about finished runs.', 'properties': {'webhook': {'type': 'string', 'pattern': '^https?://'}, 'apprise': {'type': 'array', 'items': {'type': 'string', 'minLength': 1}}, 'command': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}}, 'when': {'enum': ['always', 'change', 'failure']}}}, rule='type')
            data__notify_is_dict = isinstance(data__notify, dict)
            if data__notify_is_dict:
                data__notify_keys = set(data__notify.keys())
                if "webhook" in data__notify_keys:
                    data__notify_keys.remove("webhook")
                    data__notify__webhook = data__notify["webhook"]
                    if not isinstance(data__notify__webhook, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.webhook must be string", value=data__notify__webhook, name="" + (name_prefix or "data") + ".notify.webhook", definition={'type': 'string', 'pattern': '^https?://'}, rule='type')
                    if isinstance(data__notify__webhook, str):
                        if not REGEX_PATTERNS['^https?://'].search(data__notify__webhook):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.webhook must match pattern ^https?://", value=data__notify__webhook, name="" + (name_prefix or "data") + ".notify.webhook", definition={'type': 'string', 'pattern': '^https?://'}, rule='pattern')
                if "apprise" in data__notify_keys:
                    data__notify_keys.remove("apprise")
                    data__notify__apprise = data__notify["apprise"]
                    if not isinstance(data__notify__apprise, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.apprise must be array", value=data__notify__apprise, name="" + (name_prefix or "data") + ".notify.apprise", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 1}}, rule='type')
                    data__notify__apprise_is_list = isinstance(data__notify__apprise, (list, tuple))
                    if data__notify__apprise_is_list:
                        data__notify__apprise_len = len(data__notify__apprise)
                        for data__notify__apprise_x, data__notify__apprise_item in enumerate(data__notify__apprise):
                            if not isinstance(data__notify__apprise_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.apprise[{data__notify__apprise_x}]".format(**locals()) + " must be string", value=data__notify__apprise_item, name="" + (name_prefix or "data") + ".notify.apprise[{data__notify__apprise_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='type')
                            if isinstance(data__notify__apprise_item, str):
                                data__notify__apprise_item_len = len(data__notify__apprise_item)
                                if data__notify__apprise_item_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.apprise[{data__notify__apprise_x}]".format(**locals()) + " must be longer than or equal to 1 characters", value=data__notify__apprise_item, name="" + (name_prefix or "data") + ".notify.apprise[{data__notify__apprise_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='minLength')
                if "command" in data__notify_keys:
                    data__notify_keys.remove("command")
                    data__notify__command = data__notify["command"]
                    if not isinstance(data__notify__command, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.command must be array", value=data__notify__command, name="" + (name_prefix or "data") + ".notify.command", definition={'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}}, rule='type')
                    data__notify__command_is_list = isinstance(data__notify__command, (list, tuple))
                    if data__notify__command_is_list:
                        data__notify__command_len = len(data__notify__command)
                        if data__notify__command_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.command must contain at least 1 items", value=data__notify__command, name="" + (name_prefix or "data") + ".notify.command", definition={'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}}, rule='minItems')
                        for data__notify__command_x, data__notify__command_item in enumerate(data__notify__command):
                            if not isinstance(data__notify__command_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.command[{data__notify__command_x}]".format(**locals()) + " must be string", value=data__notify__command_item, name="" + (name_prefix or "data") + ".notify.command[{data__notify__command_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='type')
                            if isinstance(data__notify__command_item, str):
                                data__notify__command_item_len = len(data__notify__command_item)
                                if data__notify__command_item_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.command[{data__notify__command_x}]".format(**locals()) + " must be longer than or equal to 1 characters", value=data__notify__command_item, name="" + (name_prefix or "data") + ".notify.command[{data__notify__command_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='minLength')
                if "when" in data__notify_keys:
                    data__notify_keys.remove("when")
                    data__notify__when = data__notify["when"]
                    if not (isinstance(data__notify__when, str) and data__notify__when == 'always' or isinstance(data__notify__when, str) and data__notify__when == 'change' or isinstance(data__notify__when, str) and data__notify__when == 'failure'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify.when must be one of ['always', 'change', 'failure']", value=data__notify__when, name="" + (name_prefix or "data") + ".notify.when", definition={'enum': ['always', 'change', 'failure']}, rule='enum')
                if data__notify_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".notify must not contain "+str(data__notify_keys)+" properties", value=data__notify, name="" + (name_prefix or "data") + ".notify", definition={'type': 'object', 'additionalProperties': False, 'description': 'Who hears about finished runs.', 'properties': {'webhook': {'type': 'string', 'pattern': '^https?://'}, 'apprise': {'type': 'array', 'items': {'type': 'string', 'minLength': 1}}, 'command': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}}, 'when': {'enum': ['always', 'change', 'failure']}}}, rule='additionalProperties')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'https://json-schema.org/draft/2020-12/schema', '$id': 'https://upgrader.invalid/project.schema.json', 'title': 'projects/<name>/project.yaml', 'description': "An operator's settings for one project. upgrader never writes this file (DESIGN §2).", 'type': 'object', 'additionalProperties': False, 'properties': {'feed': {'oneOf': [{'type': 'string', 'pattern': '^(https?|file)://', 'description': "The release feed's URL; its index is <feed>/index.json (the same as {kind: index, url})."}, {'type': 'object', 'additionalProperties': False, 'required': ['kind', 'url'], 'description': 'A feed of another kind (DESIGN §12): kind index reads <url>/index.json; kind listing reads a plain list of archive names.', 'properties': {'kind': {'enum': ['index', 'listing'], 'description': 'index: <url>/index.json (DESIGN §3); listing: <url>/<listing>, one archive name a line, oldest first.'}, 'url': {'type': 'string', 'pattern': '^(https?|file|gs)://', 'description': "The feed's folder: https://, http://, file:// or (listing only) gs://bucket/folder/.", 'examples': ['gs://vendor-packages/org-42/']}, 'listing': {'type': 'string', 'minLength': 1, 'pattern': '^[^/\\\\]+$', 'description': "The listing's file name under url (listing only; default index.txt)."}, 'version_pattern': {'type': 'string', 'minLength': 1, 'description': "A Python regular expression an archive name must match (listing only): group 'version' is its version, optional group 'build' (digits) picks the newest build of a version. Default: ^(?P<name>.+?)-(?P<version>\\d+\\.\\d+\\.\\d+)(?:-(?P<build>\\d+))?\\.(?:zip|tar\\.gz)$", 'examples': ['^server-linux-x64-(?P<version>\\d+\\.\\d+\\.\\d+)-(?P<build>\\d+)\\.zip$']}, 'credentials': {'type': 'string', 'minLength': 1, 'description': 'gs:// only: a Google service-account key file (JSON), relative to the project folder or absolute; its token_uri is asked for a read-only token.', 'examples': ['cred.json']}}}], 'description': 'The release feed: a URL (an index feed), or a mapping {kind, url, ...}.'}, 'token_file': {'type': 'string', 'minLength': 1, 'description': "File holding the feed's bearer token, relative to the project folder; UPGRADER_FEED_TOKEN_<NAME> wins (UPGRADER_FEED_TOKEN only with -n NAME).", 'examples': ['feed.token']}, 'public_key': {'type': 'string', 'minLength': 1, 'description': 'Base64 Ed25519 public key; when set, <feed>/index.json.sig must verify.'}, 'stops': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$'}, 'description': 'Upgrade stops the feed cannot state (a listing has no min_from): a server below a stop goes to it before any newer release.', 'examples': [['3.29.0']]}, 'allow': {'enum': ['patch', 'minor', 'major'], 'description': 'How far an unattended run may move (default minor).'}, 'workflow': {'type': 'string', 'minLength': 1, 'description': 'A workflow shipped in workflows/ by name, or a path to a YAML file (relative to the project folder).', 'examples': ['upgrade']}, 'health_timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 86400, 'description': 'Seconds to wait for every service to be healthy after start (default 300).'}, 'keep_releases': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Extracted releases kept besides the running one (default 2).'}, 'values': {'type': 'object', 'propertyNames': {'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'}, 'additionalProperties': {'type': ['string', 'number', 'boolean']}, 'description': "Written into export/.env over the release's defaults.env."}, 'ca_bundle': {'type': 'string', 'minLength': 1, 'description': "A CA bundle (PEM) to verify the feed's TLS certificate with."}, 'jitter': {'type': 'number', 'minimum': 0, 'maximum': 86400, 'description': 'Seconds of random delay before a cron run.'}, 'min_age': {'type': 'string', 'pattern': '^[0-9]+[smhdw]$', 'description': 'Take a release only once it has been public this long.', 'examples': ['3d']}, 'product': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', 'description': "The product this project runs (index.json's and release.json's 'product'); a feed or package of another product is refused. Default: the installed release's product.", 'examples': ['acme-server']}, 'refuse': {'type': 'array', 'uniqueItems': True, 'items': {'enum': ['privileged', 'host_mounts', 'host_namespaces', 'docker_socket']}, 'description': "What a release's compose.yaml may not ask for: it is refused when extracted, before the server stops (without this key, check and doctor warn)."}, 'snapshot': {'type': 'object', 'additionalProperties': False, 'description': "Data snapshots (DESIGN §9): the project's data is copied while the server is stopped, and a rollback of a run that never completed puts it back. On by default in the shipped workflows.", 'properties': {'enabled': {'type': 'boolean', 'description': 'Take a snapshot at each upgrade (default true).'}, 'volumes': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$'}, 'description': 'More named volumes to include (e.g. external ones); every named volume of the Compose project is included anyway.'}, 'paths': {'type': 'array', 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^/'}, 'description': 'Absolute host folders the stack bind-mounts for its data, included too.'}, 'method': {'enum': ['auto', 'host', 'engine'], 'description': "host: copy from the volume's mountpoint (needs root); engine: through the Docker Engine's archive API; auto (default): host where the mountpoint is readable, else engine."}, 'keep': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'Snapshots kept, newest first (default 1); the one the last completed upgrade may need is always kept.'}, 'restore_on_failure': {'type': 'boolean', 'description': 'A rollback of a run that never completed restores the snapshot (default true).'}}}, 'installed_version': {'type': 'object', 'additionalProperties': False, 'required': ['run'], 'description': 'For a server upgrader did not install (DESIGN §12): while state/<name>/installed.json is absent, the first semantic version this command prints is the installed version, so the first run upgrades the running server instead of installing over it. Run like a workflow\'s command step: never through a shell, standard input closed, placeholders {root} {project} {name} expanded. Example: {run: ["{root}/ac-self-hosted.sh", "-v"]}.', 'properties': {'run': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}, 'description': 'The command and its arguments.'}, 'cwd': {'type': 'string', 'minLength': 1, 'description': 'The working folder (default {project}).'}, 'timeout': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 3600, 'description': 'Seconds before the command is killed (default 60).'}}}, 'notify': {'type': 'object', 'additionalProperties': False, 'description': 'Who hears about finished runs.', 'properties': {'webhook': {'type': 'string', 'pattern': '^https?://'}, 'apprise': {'type': 'array', 'items': {'type': 'string', 'minLength': 1}}, 'command': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'minLength': 1}}, 'when': {'enum': ['always', 'change', 'failure']}}}}}, rule='additionalProperties')
    return data

validate = validate_https___upgrader_invalid_project_schema_json
