"""The outside world upgrader drives: processes, the Docker Engine, Docker Compose."""

# Beside an export's compose.yaml: the labels naming the root and project that own its
# containers (DESIGN §14), merged over compose.yaml whenever upgrader starts the export.
LABELS = "compose.upgrader.yaml"
