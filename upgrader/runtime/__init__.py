"""The outside world upgrader drives: processes, the Docker Engine, Docker Compose."""
