#!/usr/bin/env bash
# The pull request's plan comment: the lifecycle plan in Markdown with the offline
# CloudFormation template diff beside it, against the base ref given as the first
# argument (for example origin/main). No AWS credentials are used.
#
#   bash examples/ci/plan-comment.sh origin/main [plan-comment.md]
#
# examples/ci/pull-request.yml runs this file and tests/test_ci_examples.py runs the
# same file, so what is tested is what the workflow posts. The first line is the
# hidden marker by which the workflow finds its previous comment and edits it.
# Exit status: the plan's (the comment file is written in every case).
set -uo pipefail

base="${1:?usage: plan-comment.sh BASE_REF [OUTPUT_FILE]}"
out="${2:-plan-comment.md}"
# The CLI of the virtual environment that `make setup` creates. Default: .venv/bin.
cli="${BEDROCK_LIFECYCLE_CLI:-.venv/bin/bedrock-lifecycle}"
marker="<!-- bedrock-lifecycle-plan -->"

err="$(mktemp)"
trap 'rm -f "$err"' EXIT
plan="$("$cli" plan --base "$base" --format markdown --templates 2>"$err")"
status=$?
cat "$err" >&2 # warnings go to the job's log, not into the comment
{
  echo "$marker"
  if [ "$status" -ne 0 ]; then
    echo "**bedrock-lifecycle plan --base $base failed (exit $status):**"
    echo
    echo '```'
    cat "$err"
    echo '```'
  else
    echo "$plan"
  fi
} >"$out"
cat "$out" # the whole plan in the job's log too (a comment is cut at 65,000 characters)
exit "$status"
