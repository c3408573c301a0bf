#!/usr/bin/env bash
# The platform's deploy script: plan, deploy, roll back or show the aicode-api release of an
# environment. Locally it runs against the environment of `harness up` through its exports.
#
#   deploy.sh <environment> plan|deploy|rollback|status [--dry-run] [--skip-tests] [--force] [--image TAG]
#
#   plan      terraform plan (skipped where providers cannot be installed) + kubectl diff
#   deploy    terraform apply (same) + kubectl apply + rollout status + smoke test;
#             a failed rollout or smoke test is rolled back automatically
#   rollback  kubectl rollout undo + rollout status
#   status    kubectl rollout status + the pods
#
#   --dry-run     server-side dry run: the API validates, nothing changes
#   --skip-tests  no smoke test after the rollout
#   --force       deploy even when the image already runs; no prompt for production
#   --image TAG   the release to deploy (default: the tag in the manifest)
#
# Environment: KUBECONFIG, APP_NAMESPACE, APP_URL (with `harness up` running: eval "$(harness env)");
# DEPLOY_MANIFESTS (default infrastructure/k8s/<environment>),
# ROLLOUT_TIMEOUT (default 300s), SMOKE_ATTEMPTS (default 30).
set -euo pipefail

readonly APP=aicode-api
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO
readonly USAGE="usage: deploy.sh <environment> plan|deploy|rollback|status [--dry-run] [--skip-tests] [--force] [--image TAG]"

log() { printf '==> %s\n' "$*"; }
warn() { printf 'deploy.sh: %s\n' "$*" >&2; }
die() {
    warn "$1"
    exit "${2:-1}"
}

# -- arguments ---------------------------------------------------------------------------
[[ $# -ge 2 ]] || die "$USAGE" 2
ENVIRONMENT=$1
ACTION=$2
shift 2
DRY_RUN=false
SKIP_TESTS=false
FORCE=false
TAG=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --dry-run) DRY_RUN=true ;;
        --skip-tests) SKIP_TESTS=true ;;
        --force) FORCE=true ;;
        --image)
            [[ $# -ge 2 && -n $2 ]] || die "--image needs a tag; $USAGE" 2
            TAG=$2
            shift
            ;;
        --image=*) TAG=${1#--image=} ;;
        *) die "unknown option $1; $USAGE" 2 ;;
    esac
    shift
done
case $ACTION in
    plan | deploy | rollback | status) ;;
    *) die "unknown action '$ACTION'; $USAGE" 2 ;;
esac
[[ $ENVIRONMENT =~ ^[a-z0-9-]+$ ]] || die "environment '$ENVIRONMENT' is not a name" 2
MANIFESTS=${DEPLOY_MANIFESTS:-$REPO/infrastructure/k8s/$ENVIRONMENT}
TERRAFORM_DIR=$REPO/infrastructure/terraform/$ENVIRONMENT
[[ -d $MANIFESTS ]] || die "no manifests for environment '$ENVIRONMENT' in $MANIFESTS" 2
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-300s}
SMOKE_ATTEMPTS=${SMOKE_ATTEMPTS:-30}

# -- the environment ----------------------------------------------------------------------
missing=()
for name in KUBECONFIG APP_NAMESPACE APP_URL; do
    [[ -n ${!name:-} ]] || missing+=("$name")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    die "${missing[*]} not set: run \`harness up\` first and eval its exports" 2
fi
[[ -r $KUBECONFIG ]] || die "KUBECONFIG=$KUBECONFIG cannot be read: run \`harness up\` first and eval its exports" 2
NAMESPACE=$APP_NAMESPACE
manifest_namespace=$(sed -n 's/^  namespace: *//p' "$MANIFESTS/deployment.yaml" | head -n1)
if [[ -n $manifest_namespace && $manifest_namespace != "$NAMESPACE" ]]; then
    die "APP_NAMESPACE=$NAMESPACE, but the $ENVIRONMENT manifests deploy to $manifest_namespace: are the exports of the right environment loaded?" 2
fi
# kubectl caches discovery per host:port for hours; local clusters reuse ports.
if [[ -z ${KUBECACHEDIR:-} ]]; then
    KUBECACHEDIR=$(mktemp -d "${TMPDIR:-/tmp}/deploy-kubecache.XXXXXX")
    export KUBECACHEDIR
fi
kube() { kubectl --namespace "$NAMESPACE" "$@"; }

# -- terraform ----------------------------------------------------------------------------
# Where the providers cannot be installed (offline, or a local environment without AWS),
# the Terraform steps say so and are skipped: the local environment is `harness up`'s.
terraform_step() {
    local step=$1
    if ! command -v terraform >/dev/null 2>&1; then
        log "terraform $step: skipped (terraform is not installed)"
        return 0
    fi
    local data output
    data=$(mktemp -d "${TMPDIR:-/tmp}/deploy-terraform.XXXXXX")
    if ! output=$(TF_DATA_DIR=$data timeout 120 terraform -chdir="$TERRAFORM_DIR" init \
        -backend=false -input=false -no-color 2>&1); then
        log "terraform $step: skipped (providers cannot be installed: $(grep -m1 -iE 'error|failed|lookup' <<<"$output" | sed 's/^[│ ]*//' || echo 'terraform init failed'))"
        rm -rf "$data"
        return 0
    fi
    if [[ $step == plan || $DRY_RUN == true ]]; then
        TF_DATA_DIR=$data terraform -chdir="$TERRAFORM_DIR" plan -input=false -no-color || warn "terraform plan failed"
    else
        TF_DATA_DIR=$data terraform -chdir="$TERRAFORM_DIR" apply -input=false -auto-approve -no-color
    fi
    rm -rf "$data"
}

# -- manifests ------------------------------------------------------------------------------
# What a deploy applies: the Deployment with the release's image, its Service and its
# PodDisruptionBudget. The ConfigMap and Secret hold the environment's endpoints and
# credentials, rendered from Terraform outputs (locally by `harness up`): not touched here.
render() {
    local out=$1 files=()
    for name in deployment service pdb; do
        [[ -f $MANIFESTS/$name.yaml ]] && files+=("$MANIFESTS/$name.yaml")
    done
    if [[ -n $TAG ]]; then
        kubectl set image --local -o yaml -f "$MANIFESTS/deployment.yaml" "$APP=$APP:$TAG" >"$out/deployment.yaml"
        files[0]=$out/deployment.yaml
    fi
    for file in "${files[@]}"; do
        cat "$file"
        printf '\n---\n'
    done >"$out/all.yaml"
}

live_image() {
    kube get deployment "$APP" -o "jsonpath={.spec.template.spec.containers[0].image}" 2>/dev/null || true
}

rollout_status() {
    kube rollout status "deployment/$APP" --timeout="$ROLLOUT_TIMEOUT"
}

smoke_test() {
    local want=$1 attempt body
    log "smoke test: $APP_URL/health, /ready and /version = $want"
    for ((attempt = 1; attempt <= SMOKE_ATTEMPTS; attempt++)); do
        # the load balancer keeps old targets a moment after a rollout: retry until it settles
        if curl -fsS --max-time 5 "$APP_URL/health" >/dev/null &&
            curl -fsS --max-time 5 "$APP_URL/ready" >/dev/null &&
            body=$(curl -fsS --max-time 5 "$APP_URL/version") &&
            [[ $body == *"\"version\":\"$want\""* ]]; then
            log "smoke test passed: $body"
            return 0
        fi
        sleep 1
    done
    warn "smoke test failed after $SMOKE_ATTEMPTS attempts: /version answered '${body:-nothing}'"
    return 1
}

roll_back() {
    log "rolling back deployment/$APP"
    kube rollout undo "deployment/$APP"
    rollout_status
}

confirm_production() {
    [[ $ENVIRONMENT == production && $FORCE != true && $DRY_RUN != true ]] || return 0
    [[ -t 0 ]] || die "deploying to production needs --force when not run interactively" 2
    read -r -p "Deploy to production? [y/N] " answer
    [[ $answer == [yY] ]] || die "not confirmed" 1
}

# -- actions ----------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/deploy.XXXXXX")
cleanup() {
    rm -rf "$work"
    [[ ${KUBECACHEDIR:-} != "${TMPDIR:-/tmp}"/deploy-kubecache.* ]] || rm -rf "$KUBECACHEDIR"
}
trap cleanup EXIT

case $ACTION in
    plan)
        terraform_step plan
        render "$work"
        log "kubectl diff ($ENVIRONMENT, namespace $NAMESPACE)"
        set +e
        kube diff -f "$work/all.yaml"
        code=$?
        set -e
        case $code in
            0) log "no changes" ;;
            1) log "changes above would be applied by: deploy.sh $ENVIRONMENT deploy${TAG:+ --image $TAG}" ;;
            *) die "kubectl diff failed (exit $code)" "$code" ;;
        esac
        ;;
    deploy)
        confirm_production
        render "$work"
        want=${TAG:-$(sed -n "s/^ *image: *$APP://p" "$MANIFESTS/deployment.yaml" | head -n1)}
        current=$(live_image)
        if [[ $current == "$APP:$want" && $FORCE != true && $DRY_RUN != true ]]; then
            log "$APP:$want already runs in $NAMESPACE; nothing to deploy (--force restarts it)"
            rollout_status
            exit 0
        fi
        terraform_step apply
        if [[ $DRY_RUN == true ]]; then
            log "dry run: kubectl apply --dry-run=server ($current -> $APP:$want)"
            kube apply --dry-run=server -f "$work/all.yaml"
            exit 0
        fi
        log "deploying $APP:$want to $ENVIRONMENT (namespace $NAMESPACE; was ${current:-nothing})"
        kube apply -f "$work/all.yaml"
        if [[ $current == "$APP:$want" ]]; then
            kube rollout restart "deployment/$APP"
        fi
        if ! rollout_status; then
            warn "rollout of $APP:$want failed"
            kube get pods -o wide || true
            roll_back
            die "deploy of $APP:$want failed and was rolled back to ${current:-the previous revision}" 1
        fi
        if [[ $SKIP_TESTS != true ]] && ! smoke_test "$want"; then
            roll_back
            die "deploy of $APP:$want failed its smoke test and was rolled back to ${current:-the previous revision}" 1
        fi
        log "deployed $APP:$want"
        ;;
    rollback)
        confirm_production
        if [[ $DRY_RUN == true ]]; then
            kube rollout undo "deployment/$APP" --dry-run=server
            exit 0
        fi
        roll_back
        log "rolled back to $(live_image)"
        ;;
    status)
        rollout_status
        kube get pods -o wide
        log "serving: $(live_image) at $APP_URL"
        ;;
esac
