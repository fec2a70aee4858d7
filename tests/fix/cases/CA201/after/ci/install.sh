#!/usr/bin/env bash
set -euo pipefail

# Test dependencies plus the database driver.
pip install -r requirements.txt -r requirements-dev.txt
