/* ppo.c -- PPO with categorical heads and MLP policy/value (see ppo.h). */
#include "ppo.h"

#include "linalg.h"
#include "parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>

#define MAX_ENVS 4096

struct pg_ppo {
  pg_ppo_config cfg;
  size_t nlogits;
  pg_mlp *trunk, *pi, *vf; /* trunk NULL unless shared */
  pg_mlp_adam adam[3];     /* per network; Adam is elementwise, so this equals one Adam */
  pg_rng rng;              /* sampling and shuffles */
  uint64_t timesteps, updates;
  /* attached environments and their running state */
  size_t n_envs;
  void **env_ctx;
  pg_rng *env_rng;
  double *cur_obs;         /* n_envs x obs_dim */
  double *ep_ret, *ep_len; /* running episode return / length per env */
  int attached;
  /* rollout buffers, [t][env] */
  size_t cap; /* n_steps * n_envs allocated */
  double *obs, *logp, *val, *rew, *adv, *ret;
  int *act;
  unsigned char *done;
  size_t *perm;
  /* the rollout's observations as compressed rows (non-zeros), and a
     minibatch's */
  size_t *optr, *bptr;
  uint32_t *oidx, *bidx;
  double *oval, *bval;
  /* the same rows in an epoch's order (two epochs: the threaded update),
     so that a minibatch is a contiguous slice */
  size_t *eptr[2];
  uint32_t *eidx[2];
  double *eval[2];
  size_t ecap;
  /* and each minibatch's by columns (first-layer weight gradient) */
  size_t *ecptr[2];
  uint32_t *ecrow[2];
  double *ecval[2];
  /* minibatch scratch */
  double *xb, *xbv, *dlogits, *dv, *dh1, *dh2, *lsm, *scratch, *mb;
  int *actb;
  size_t batch_cap;
  double *last_val;
  int threads_mode; /* PG_PPO_THREADS_* */
};

void pg_ppo_config_default(pg_ppo_config *c) {
  memset(c, 0, sizeof *c);
  c->joint = 0;
  c->shared = 0;
  c->nhidden = 2;
  c->hidden[0] = c->hidden[1] = 64;
  c->act = PG_MLP_TANH;
  c->lr = 3e-4;
  c->adam_eps = 1e-5;
  c->gamma = 0.99;
  c->lambda = 0.95;
  c->clip = 0.2;
  c->clip_vf = 0.0;
  c->vf_coef = 0.5;
  c->ent_coef = 0.0;
  c->max_grad_norm = 0.5;
  c->norm_adv = 1;
  c->n_steps = 2048;
  c->batch_size = 64;
  c->n_epochs = 10;
  c->seed = 0;
}

static size_t logits_of(const pg_ppo_config *c) {
  size_t n = c->joint ? 1 : 0;
  for (size_t h = 0; h < c->nheads; h++) {
    if (c->joint) {
      if (n > PG_PPO_MAX_LOGITS / c->head_sizes[h]) return PG_PPO_MAX_LOGITS + 1;
      n *= c->head_sizes[h];
    } else {
      n += c->head_sizes[h];
    }
  }
  return n;
}

const char *pg_ppo_config_check(const pg_ppo_config *c) {
  if (c->obs_dim < 1 || c->obs_dim > PG_MLP_MAX_WIDTH) return "obs_dim must be in 1..65536";
  if (c->nheads < 1 || c->nheads > PG_PPO_MAX_HEADS) return "between 1 and 8 action heads";
  for (size_t h = 0; h < c->nheads; h++)
    if (c->head_sizes[h] < 1 || c->head_sizes[h] > PG_PPO_MAX_LOGITS)
      return "every action head needs 1..65536 choices";
  if (logits_of(c) > PG_PPO_MAX_LOGITS) return "too many joint actions (more than 65536)";
  if (c->nhidden > PG_MLP_MAX_LAYERS - 1) return "too many hidden layers";
  for (size_t l = 0; l < c->nhidden; l++)
    if (c->hidden[l] < 1 || c->hidden[l] > PG_MLP_MAX_WIDTH) return "hidden widths in 1..65536";
  if (c->shared && c->nhidden < 1) return "a shared trunk needs at least one hidden layer";
  if (c->act != PG_MLP_TANH && c->act != PG_MLP_RELU) return "activation must be tanh or relu";
  if (!(c->lr > 0.0 && c->lr < 1.0)) return "lr must be in (0, 1)";
  if (!(c->adam_eps > 0.0 && c->adam_eps < 1.0)) return "adam_eps must be in (0, 1)";
  if (!(c->gamma >= 0.0 && c->gamma <= 1.0)) return "gamma must be in [0, 1]";
  if (!(c->lambda >= 0.0 && c->lambda <= 1.0)) return "lambda must be in [0, 1]";
  if (!(c->clip > 0.0 && c->clip < 10.0)) return "clip must be in (0, 10)";
  if (!(c->clip_vf >= 0.0 && isfinite(c->clip_vf))) return "clip_vf must be finite and >= 0";
  if (!(c->vf_coef >= 0.0 && isfinite(c->vf_coef))) return "vf_coef must be finite and >= 0";
  if (!(isfinite(c->ent_coef))) return "ent_coef must be finite";
  if (!(c->max_grad_norm >= 0.0 && isfinite(c->max_grad_norm)))
    return "max_grad_norm must be finite and >= 0";
  if (c->n_steps < 1 || c->n_steps > ((size_t)1 << 24)) return "n_steps must be in 1..2^24";
  if (c->batch_size < 1 || c->batch_size > ((size_t)1 << 20))
    return "batch_size must be in 1..2^20";
  if (c->n_epochs < 1 || c->n_epochs > 10000) return "n_epochs must be in 1..10000";
  return NULL;
}

const pg_ppo_config *pg_ppo_get_config(const pg_ppo *p) { return &p->cfg; }
size_t pg_ppo_nlogits(const pg_ppo *p) { return p->nlogits; }
size_t pg_ppo_nparams(const pg_ppo *p) {
  return (p->trunk ? p->trunk->nparams : 0) + p->pi->nparams + p->vf->nparams;
}

/* Build (not initialise) the networks for cfg. */
static pg_status build_nets(pg_ppo *p) {
  const pg_ppo_config *c = &p->cfg;
  size_t sizes[PG_MLP_MAX_LAYERS + 1];
  pg_status st;
  sizes[0] = c->obs_dim;
  for (size_t l = 0; l < c->nhidden; l++) sizes[l + 1] = c->hidden[l];
  if (c->shared) {
    st = pg_mlp_new(&p->trunk, c->nhidden, sizes, c->act, 1);
    if (st != PG_OK) return st;
    size_t hs[2] = {c->hidden[c->nhidden - 1], p->nlogits};
    if ((st = pg_mlp_new(&p->pi, 1, hs, c->act, 0)) != PG_OK) return st;
    hs[1] = 1;
    return pg_mlp_new(&p->vf, 1, hs, c->act, 0);
  }
  sizes[c->nhidden + 1] = p->nlogits;
  if ((st = pg_mlp_new(&p->pi, c->nhidden + 1, sizes, c->act, 0)) != PG_OK) return st;
  sizes[c->nhidden + 1] = 1;
  return pg_mlp_new(&p->vf, c->nhidden + 1, sizes, c->act, 0);
}

static pg_status build_adam(pg_ppo *p) {
  pg_mlp *nets[3] = {p->trunk, p->pi, p->vf};
  for (int k = 0; k < 3; k++) {
    if (!nets[k]) continue;
    pg_status st = pg_mlp_adam_init(&p->adam[k], nets[k]->nparams, p->cfg.lr, p->cfg.adam_eps);
    if (st != PG_OK) return st;
  }
  return PG_OK;
}

/* Allocate the agent shell shared by new and load. */
static pg_status alloc_agent(pg_ppo **out, const pg_ppo_config *cfg) {
  *out = NULL;
  if (pg_ppo_config_check(cfg)) return PG_EINVAL;
  pg_ppo *p = calloc(1, sizeof *p);
  if (!p) return PG_ENOMEM;
  p->cfg = *cfg;
  p->nlogits = logits_of(cfg);
  pg_rng_seed(&p->rng, cfg->seed);
  *out = p;
  return PG_OK;
}

pg_status pg_ppo_new(pg_ppo **out, const pg_ppo_config *cfg) {
  pg_ppo *p;
  pg_status st = alloc_agent(&p, cfg);
  if (st != PG_OK) return st;
  if ((st = build_nets(p)) != PG_OK || (st = build_adam(p)) != PG_OK) goto fail;
  pg_rng init;
  pg_rng_split(&p->rng, &init);
  const double g = sqrt(2.0);
  if (p->trunk && (st = pg_mlp_init(p->trunk, &init, PG_MLP_INIT_ORTHOGONAL, g, g)) != PG_OK)
    goto fail;
  if ((st = pg_mlp_init(p->pi, &init, PG_MLP_INIT_ORTHOGONAL, g, 0.01)) != PG_OK) goto fail;
  if ((st = pg_mlp_init(p->vf, &init, PG_MLP_INIT_ORTHOGONAL, g, 1.0)) != PG_OK) goto fail;
  *out = p;
  return PG_OK;
fail:
  pg_ppo_free(p);
  return st;
}

static void free_buffers(pg_ppo *p) {
  free(p->env_ctx);
  free(p->env_rng);
  free(p->cur_obs);
  free(p->ep_ret);
  free(p->ep_len);
  free(p->obs);
  free(p->logp);
  free(p->val);
  free(p->rew);
  free(p->adv);
  free(p->ret);
  free(p->act);
  free(p->done);
  free(p->perm);
  free(p->last_val);
  free(p->optr);
  free(p->oidx);
  free(p->oval);
  free(p->bptr);
  free(p->bidx);
  free(p->bval);
  for (int k = 0; k < 2; k++) {
    free(p->eptr[k]);
    free(p->eidx[k]);
    free(p->eval[k]);
    free(p->ecptr[k]);
    free(p->ecrow[k]);
    free(p->ecval[k]);
    p->ecptr[k] = NULL;
    p->ecrow[k] = NULL;
    p->ecval[k] = NULL;
    p->eptr[k] = NULL;
    p->eidx[k] = NULL;
    p->eval[k] = NULL;
  }
  p->ecap = 0;
  p->optr = p->bptr = NULL;
  p->oidx = p->bidx = NULL;
  p->oval = p->bval = NULL;
  p->env_ctx = NULL;
  p->env_rng = NULL;
  p->cur_obs = p->ep_ret = p->ep_len = p->obs = p->logp = p->val = p->rew = p->adv = p->ret =
      p->last_val = NULL;
  p->act = NULL;
  p->done = NULL;
  p->perm = NULL;
  p->cap = 0;
  p->n_envs = 0;
  p->attached = 0;
}

void pg_ppo_free(pg_ppo *p) {
  if (!p) return;
  free_buffers(p);
  free(p->xb);
  free(p->xbv);
  free(p->dlogits);
  free(p->dv);
  free(p->dh1);
  free(p->dh2);
  free(p->lsm);
  free(p->scratch);
  free(p->mb);
  free(p->actb);
  for (int k = 0; k < 3; k++) pg_mlp_adam_free(&p->adam[k]);
  pg_mlp_free(p->trunk);
  pg_mlp_free(p->pi);
  pg_mlp_free(p->vf);
  free(p);
}

/* ---- categorical distributions ---- */

double pg_categorical_logsoftmax(const double *z, size_t k, double *logp) {
  double mx = z[0];
  for (size_t j = 1; j < k; j++)
    if (z[j] > mx) mx = z[j];
  double s = 0.0;
  for (size_t j = 0; j < k; j++) {
    logp[j] = exp(z[j] - mx); /* temporarily the unnormalised probability */
    s += logp[j];
  }
  double ls = log(s), H = 0.0;
  for (size_t j = 0; j < k; j++) {
    double p = logp[j] / s;
    logp[j] = z[j] - mx - ls;
    H -= p * logp[j];
  }
  return H;
}

size_t pg_categorical_sample(const double *z, size_t k, pg_rng *rng, double *scratch) {
  double mx = z[0];
  for (size_t j = 1; j < k; j++)
    if (z[j] > mx) mx = z[j];
  for (size_t j = 0; j < k; j++) scratch[j] = exp(z[j] - mx);
  size_t i = pg_rng_categorical(rng, scratch, k);
  return i < k ? i : 0;
}

static size_t argmax(const double *z, size_t k) {
  size_t b = 0;
  for (size_t j = 1; j < k; j++)
    if (z[j] > z[b]) b = j;
  return b;
}

/* Blocks of logits: factored heads or one joint block. */
static size_t nblocks(const pg_ppo *p) { return p->cfg.joint ? 1 : p->cfg.nheads; }
static size_t block_size(const pg_ppo *p, size_t b) {
  return p->cfg.joint ? p->nlogits : p->cfg.head_sizes[b];
}

/* Chosen index within block b for per-head action a (joint: mixed radix). */
static size_t block_choice(const pg_ppo *p, const int *a, size_t b) {
  if (!p->cfg.joint) return (size_t)a[b];
  size_t idx = 0;
  for (size_t h = 0; h < p->cfg.nheads; h++) idx = idx * p->cfg.head_sizes[h] + (size_t)a[h];
  return idx;
}

static void decode_choice(const pg_ppo *p, size_t b, size_t idx, int *a) {
  if (!p->cfg.joint) {
    a[b] = (int)idx;
    return;
  }
  for (size_t h = p->cfg.nheads; h-- > 0;) {
    a[h] = (int)(idx % p->cfg.head_sizes[h]);
    idx /= p->cfg.head_sizes[h];
  }
}

/* ---- networks ---- */

/* Non-zero entries of n observations, compressed rows (see
 * pg_mlp_forward_sparse). */
typedef struct sparse_in {
  const size_t *ptr;
  const uint32_t *idx;
  const double *val;
} sparse_in;

/* Forward on X, or, when sp is not NULL, on the same observations given by
 * their non-zeros (X unused). */
static pg_status forward_in(pg_ppo *p, const double *X, const sparse_in *sp, size_t n,
                            const double **logits, const double **values) {
  pg_status st;
  const double *in = X;
  pg_mlp *first[2] = {p->trunk ? p->trunk : p->pi, p->trunk ? NULL : p->vf};
  for (int k = 0; k < 2; k++) {
    if (!first[k]) continue;
    st = sp ? pg_mlp_forward_sparse(first[k], n, sp->ptr, sp->idx, sp->val, NULL)
            : pg_mlp_forward(first[k], X, n, NULL);
    if (st != PG_OK) return st;
  }
  if (p->trunk) {
    in = pg_mlp_output(p->trunk);
    if ((st = pg_mlp_forward(p->pi, in, n, NULL)) != PG_OK) return st;
    if ((st = pg_mlp_forward(p->vf, in, n, NULL)) != PG_OK) return st;
  }
  *logits = pg_mlp_output(p->pi);
  *values = pg_mlp_output(p->vf);
  return PG_OK;
}

static pg_status forward(pg_ppo *p, const double *X, size_t n, const double **logits,
                         const double **values) {
  return forward_in(p, X, NULL, n, logits, values);
}

static size_t trunk_width(const pg_ppo *p) {
  return p->trunk ? p->trunk->sizes[p->trunk->nlayers] : 0;
}

/* Minibatch scratch for batches up to p->cfg.batch_size (and n for act). */
static pg_status reserve_batch(pg_ppo *p, size_t n) {
  static const size_t unit = sizeof(double);
  size_t b = n;
  size_t tw = trunk_width(p);
  double **bufs[] = {&p->xb,  &p->dlogits, &p->dv,      &p->dh1, &p->dh2,
                     &p->lsm, &p->scratch, &p->mb,      &p->xbv};
  size_t sizes[] = {b * p->cfg.obs_dim, b * p->nlogits, b, b * (tw ? tw : 1), b * (tw ? tw : 1),
                    b * p->nlogits,     p->nlogits + 1, 7 * b, b * p->cfg.obs_dim};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    double *q = realloc(*bufs[k], sizes[k] * unit);
    if (!q) return PG_ENOMEM;
    *bufs[k] = q;
  }
  int *a = realloc(p->actb, b * p->cfg.nheads * sizeof *a);
  if (!a) return PG_ENOMEM;
  p->actb = a;
  p->batch_cap = b;
  return PG_OK;
}

pg_status pg_ppo_act(pg_ppo *p, const double *obs, size_t n, int deterministic, pg_rng *rng,
                     int *actions, double *logp, double *value) {
  if (n == 0) return PG_EINVAL;
  if (!deterministic && !rng) return PG_EINVAL;
  const double *Z, *V;
  pg_status st = forward(p, obs, n, &Z, &V);
  if (st != PG_OK) return st;
  if (p->batch_cap < 1 && (st = reserve_batch(p, p->cfg.batch_size)) != PG_OK) return st;
  size_t nh = p->cfg.nheads, nl = p->nlogits;
  for (size_t i = 0; i < n; i++) {
    const double *z = Z + i * nl;
    double lp = 0.0;
    size_t off = 0;
    for (size_t b = 0; b < nblocks(p); b++) {
      size_t k = block_size(p, b);
      size_t c = deterministic ? argmax(z + off, k)
                               : pg_categorical_sample(z + off, k, rng, p->scratch);
      decode_choice(p, b, c, actions + i * nh);
      if (logp) {
        pg_categorical_logsoftmax(z + off, k, p->lsm);
        lp += p->lsm[c];
      }
      off += k;
    }
    if (logp) logp[i] = lp;
    if (value) value[i] = V[i];
  }
  return PG_OK;
}

pg_status pg_ppo_probs(pg_ppo *p, const double *obs, double *out) {
  const double *Z, *V;
  pg_status st = forward(p, obs, 1, &Z, &V);
  if (st != PG_OK) return st;
  size_t off = 0;
  for (size_t b = 0; b < nblocks(p); b++) {
    size_t k = block_size(p, b);
    pg_categorical_logsoftmax(Z + off, k, out + off);
    for (size_t j = 0; j < k; j++) out[off + j] = exp(out[off + j]);
    off += k;
  }
  return PG_OK;
}

/* ---- GAE and the surrogate ---- */

void pg_ppo_gae(const double *r, const double *v, const unsigned char *done,
                const double *last_values, size_t n_steps, size_t n_envs, double gamma,
                double lambda, double *adv, double *ret) {
  for (size_t e = 0; e < n_envs; e++) {
    double gae = 0.0;
    for (size_t t = n_steps; t-- > 0;) {
      size_t i = t * n_envs + e;
      double nnt = done[i] ? 0.0 : 1.0;
      double next = t + 1 == n_steps ? last_values[e] : v[i + n_envs];
      double delta = r[i] + gamma * next * nnt - v[i];
      gae = delta + gamma * lambda * nnt * gae;
      adv[i] = gae;
      ret[i] = gae + v[i];
    }
  }
}

double pg_ppo_surrogate(const double *logp_new, const double *logp_old, const double *adv,
                        size_t n, double clip, double *grad, double *clipfrac) {
  double loss = 0.0;
  size_t nclip = 0;
  for (size_t i = 0; i < n; i++) {
    double rho = exp(logp_new[i] - logp_old[i]);
    double rc = rho < 1.0 - clip ? 1.0 - clip : rho > 1.0 + clip ? 1.0 + clip : rho;
    double u = rho * adv[i], c = rc * adv[i];
    int clipped = rc != rho;
    if (clipped) nclip++;
    /* min(u, c): the unclipped term when it is the smaller (or equal), and
       then d(-u)/dlogp = -rho A; the clipped term is flat in logp when it is
       active and rho is outside the interval. */
    if (u <= c) {
      loss -= u;
      if (grad) grad[i] = -u / (double)n;
    } else {
      loss -= c;
      if (grad) grad[i] = clipped ? 0.0 : -u / (double)n;
    }
  }
  if (clipfrac) *clipfrac = n ? (double)nclip / (double)n : 0.0;
  return n ? loss / (double)n : 0.0;
}

/* ---- rollout buffers ---- */

static pg_status attach(pg_ppo *p, pg_env *envs, size_t E) {
  int same = p->attached && p->n_envs == E;
  for (size_t e = 0; same && e < E; e++)
    if (p->env_ctx[e] != envs[e].ctx) same = 0;
  if (same) return PG_OK;
  free_buffers(p);
  size_t T = p->cfg.n_steps, D = p->cfg.obs_dim, N = T * E;
  if (N > ((size_t)1 << 28) || N * D > ((size_t)1 << 31)) return PG_ERANGE;
  p->env_ctx = calloc(E, sizeof *p->env_ctx);
  p->env_rng = calloc(E, sizeof *p->env_rng);
  p->cur_obs = calloc(E * D, sizeof(double));
  p->ep_ret = calloc(E, sizeof(double));
  p->ep_len = calloc(E, sizeof(double));
  p->last_val = calloc(E, sizeof(double));
  p->obs = malloc(N * D * sizeof(double));
  p->logp = malloc(N * sizeof(double));
  p->val = malloc(N * sizeof(double));
  p->rew = malloc(N * sizeof(double));
  p->adv = malloc(N * sizeof(double));
  p->ret = malloc(N * sizeof(double));
  p->act = malloc(N * p->cfg.nheads * sizeof(int));
  p->done = malloc(N);
  p->perm = malloc(2 * N * sizeof(size_t)); /* two epochs' orders (threaded update) */
  size_t B = p->cfg.batch_size < N ? p->cfg.batch_size : N;
  p->optr = malloc((N + 1) * sizeof(size_t));
  p->oidx = malloc(N * D * sizeof(uint32_t));
  p->oval = malloc(N * D * sizeof(double));
  p->bptr = malloc((B + 1) * sizeof(size_t));
  p->bidx = malloc(B * D * sizeof(uint32_t));
  p->bval = malloc(B * D * sizeof(double));
  p->eptr[0] = malloc((N + 1) * sizeof(size_t));
  p->eptr[1] = malloc((N + 1) * sizeof(size_t));
  size_t nmb = (N + B - 1) / B;
  p->ecptr[0] = malloc(nmb * (D + 1) * sizeof(size_t));
  p->ecptr[1] = malloc(nmb * (D + 1) * sizeof(size_t));
  if (!p->eptr[0] || !p->eptr[1] || !p->ecptr[0] || !p->ecptr[1] || !p->env_ctx || !p->env_rng || !p->cur_obs || !p->ep_ret || !p->ep_len || !p->last_val ||
      !p->obs || !p->logp || !p->val || !p->rew || !p->adv || !p->ret || !p->act || !p->done ||
      !p->perm || !p->optr || !p->oidx || !p->oval || !p->bptr || !p->bidx || !p->bval) {
    free_buffers(p);
    return PG_ENOMEM;
  }
  p->cap = N;
  p->n_envs = E;
  for (size_t e = 0; e < E; e++) {
    p->env_ctx[e] = envs[e].ctx;
    pg_rng_split(&p->rng, &p->env_rng[e]);
    pg_status st = envs[e].reset(envs[e].ctx, &p->env_rng[e], p->cur_obs + e * D);
    if (st != PG_OK) return st;
    if (!pg_all_finite(p->cur_obs + e * D, D)) return PG_EDOM;
  }
  p->attached = 1;
  return PG_OK;
}

/* ---- training ---- */

/* Run n_steps on every environment, recording the rollout. */
static pg_status collect(pg_ppo *p, pg_env *envs, double *ret_sum, double *len_sum,
                         uint64_t *neps) {
  size_t E = p->n_envs, T = p->cfg.n_steps, D = p->cfg.obs_dim, nh = p->cfg.nheads;
  pg_status st;
  for (size_t t = 0; t < T; t++) {
    double *X = p->obs + t * E * D;
    memcpy(X, p->cur_obs, E * D * sizeof *X);
    st = pg_ppo_act(p, X, E, 0, &p->rng, p->act + t * E * nh, p->logp + t * E, p->val + t * E);
    if (st != PG_OK) return st;
    for (size_t e = 0; e < E; e++) {
      size_t i = t * E + e;
      int term = 0, trunc = 0;
      double r = 0.0, *o = p->cur_obs + e * D;
      st = envs[e].step(envs[e].ctx, &p->env_rng[e], p->act + i * nh, o, &r, &term, &trunc);
      if (st != PG_OK) return st;
      if (!isfinite(r) || !pg_all_finite(o, D)) return PG_EDOM;
      p->ep_ret[e] += r;
      p->ep_len[e] += 1.0;
      if (trunc && !term) { /* time limit: bootstrap from the value of the last state */
        const double *Z, *V;
        if ((st = forward(p, o, 1, &Z, &V)) != PG_OK) return st;
        r += p->cfg.gamma * V[0];
      }
      p->rew[i] = r;
      p->done[i] = (unsigned char)(term || trunc);
      if (term || trunc) {
        *ret_sum += p->ep_ret[e];
        *len_sum += p->ep_len[e];
        (*neps)++;
        p->ep_ret[e] = p->ep_len[e] = 0.0;
        if ((st = envs[e].reset(envs[e].ctx, &p->env_rng[e], o)) != PG_OK) return st;
        if (!pg_all_finite(o, D)) return PG_EDOM;
      }
    }
  }
  const double *Z, *V;
  if ((st = forward(p, p->cur_obs, E, &Z, &V)) != PG_OK) return st;
  memcpy(p->last_val, V, E * sizeof *V);
  return PG_OK;
}

static pg_status backward(pg_ppo *p, const double *dlogits, const double *dv, size_t nb) {
  pg_status st;
  if (p->trunk) pg_mlp_zero_grad(p->trunk);
  pg_mlp_zero_grad(p->pi);
  pg_mlp_zero_grad(p->vf);
  if (!p->trunk) {
    if ((st = pg_mlp_backward(p->pi, dlogits, NULL)) != PG_OK) return st;
    return pg_mlp_backward(p->vf, dv, NULL);
  }
  if ((st = pg_mlp_backward(p->pi, dlogits, p->dh1)) != PG_OK) return st;
  if ((st = pg_mlp_backward(p->vf, dv, p->dh2)) != PG_OK) return st;
  size_t n = nb * trunk_width(p);
  for (size_t i = 0; i < n; i++) p->dh1[i] += p->dh2[i];
  return pg_mlp_backward(p->trunk, p->dh1, NULL);
}

typedef struct upd_acc {
  double pl, vl, ent, kl, cf, gn;
  size_t nmb;
} upd_acc;

/* Policy part of the loss on logits Z (nb x nlogits): writes dL/dlogits
 * into p->dlogits and returns the surrogate loss; *ent = sum of entropies,
 * *kl = sum of approximate KLs, *clipfrac. Uses p->lsm and p->mb[0, 3 nb). */
static double policy_part(pg_ppo *p, const double *Z, const int *act, const double *lpo,
                          const double *adv, size_t nb, double *ent_out, double *kl_out,
                          double *clipfrac) {
  const pg_ppo_config *c = &p->cfg;
  size_t nh = c->nheads, nl = p->nlogits;
  double *lpn = p->mb, *an = p->mb + nb, *g = p->mb + 2 * nb;
  double mean = 0.0, sd = 0.0;
  for (size_t i = 0; i < nb; i++) mean += adv[i];
  mean /= (double)nb;
  for (size_t i = 0; i < nb; i++) sd += (adv[i] - mean) * (adv[i] - mean);
  sd = nb > 1 ? sqrt(sd / (double)(nb - 1)) : 0.0;
  int norm = c->norm_adv && nb > 1;
  double ent = 0.0;
  /* log-probabilities of the taken actions and entropies */
  for (size_t i = 0; i < nb; i++) {
    an[i] = norm ? (adv[i] - mean) / (sd + 1e-8) : adv[i];
    double lp = 0.0;
    size_t off = 0;
    for (size_t b = 0; b < nblocks(p); b++) {
      size_t k = block_size(p, b);
      double *ls = p->lsm + i * nl + off;
      ent += pg_categorical_logsoftmax(Z + i * nl + off, k, ls);
      lp += ls[block_choice(p, act + i * nh, b)];
      off += k;
    }
    lpn[i] = lp;
  }
  double pl = pg_ppo_surrogate(lpn, lpo, an, nb, c->clip, g, clipfrac);
  /* d/dlogits: policy term g_i (onehot - p) and entropy term
     -ent_coef/nb * dH/dz with dH/dz_j = -p_j (log p_j + H_block) */
  double ec = c->ent_coef / (double)nb, kl = 0.0;
  for (size_t i = 0; i < nb; i++) {
    size_t off = 0;
    for (size_t b = 0; b < nblocks(p); b++) {
      size_t k = block_size(p, b);
      const double *ls = p->lsm + i * nl + off;
      double *dz = p->dlogits + i * nl + off;
      double H = 0.0;
      for (size_t j = 0; j < k; j++) {
        dz[j] = exp(ls[j]); /* p_j, overwritten below */
        H -= dz[j] * ls[j];
      }
      size_t ch = block_choice(p, act + i * nh, b);
      for (size_t j = 0; j < k; j++) {
        double pj = dz[j];
        dz[j] = g[i] * ((j == ch ? 1.0 : 0.0) - pj) + ec * pj * (ls[j] + H);
      }
      off += k;
    }
    double lr = lpn[i] - lpo[i];
    kl += (exp(lr) - 1.0) - lr;
  }
  *ent_out = ent;
  *kl_out = kl;
  return pl;
}

/* Value part of the loss on values V (nb): writes dL/dV into p->dv and
 * returns the mean squared (optionally clipped) value error. */
static double value_part(pg_ppo *p, const double *V, const double *ret, const double *vold,
                         size_t nb) {
  const pg_ppo_config *c = &p->cfg;
  double vl = 0.0;
  for (size_t i = 0; i < nb; i++) {
    double v = V[i], R = ret[i], d1 = v - R, grad = 2.0 * d1, l = d1 * d1;
    if (c->clip_vf > 0.0) {
      double vo = vold[i], dv = v - vo;
      int inside = dv > -c->clip_vf && dv < c->clip_vf;
      double vc = vo + (dv < -c->clip_vf ? -c->clip_vf : dv > c->clip_vf ? c->clip_vf : dv);
      double d2 = vc - R;
      if (d2 * d2 > l) {
        l = d2 * d2;
        grad = inside ? 2.0 * d2 : 0.0;
      }
    }
    vl += l;
    p->dv[i] = c->vf_coef * grad / (double)nb;
  }
  return vl / (double)nb;
}

/* Loss of one batch and its gradient, left in the networks' grad arrays.
 * X: nb observations; act: nb x nheads; lpo: old log-probabilities; adv:
 * raw advantages (normalised here when cfg.norm_adv); ret: returns; vold:
 * old values (for clip_vf). */
static pg_status loss_grad(pg_ppo *p, const double *X, const sparse_in *sp, const int *act,
                           const double *lpo, const double *adv, const double *ret,
                           const double *vold, size_t nb, double *loss, upd_acc *acc) {
  const pg_ppo_config *c = &p->cfg;
  const double *Z, *V;
  pg_status st = forward_in(p, X, sp, nb, &Z, &V);
  if (st != PG_OK) return st;
  double ent, kl, clipfrac;
  double pl = policy_part(p, Z, act, lpo, adv, nb, &ent, &kl, &clipfrac);
  double vl = value_part(p, V, ret, vold, nb);
  if ((st = backward(p, p->dlogits, p->dv, nb)) != PG_OK) return st;
  *loss = pl + c->vf_coef * vl - c->ent_coef * ent / (double)nb;
  if (acc) {
    acc->pl += pl;
    acc->vl += vl;
    acc->ent += ent / (double)nb;
    acc->kl += kl / (double)nb;
    acc->cf += clipfrac;
  }
  return PG_OK;
}

/* Sum of squares with eight partial sums (lane j takes the entries i = j mod
 * 8, combined pairwise at the end): independent chains the compiler turns
 * into vector code; a fixed order, so deterministic. */
static double sumsq(const double *g, size_t n) {
  double acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; j++) acc[j] += g[i + j] * g[i + j];
  for (size_t j = 0; i < n; i++, j++) acc[j] += g[i] * g[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* One minibatch: gather idx[0..nb), loss and gradient, clip, Adam. */
static pg_status minibatch(pg_ppo *p, const size_t *idx, size_t nb, upd_acc *acc) {
  const pg_ppo_config *c = &p->cfg;
  size_t D = c->obs_dim, nh = c->nheads;
  double *lpo = p->mb + 3 * nb, *adv = p->mb + 4 * nb, *ret = p->mb + 5 * nb,
         *vold = p->mb + 6 * nb;
  size_t nz = 0;
  for (size_t i = 0; i < nb; i++) {
    size_t k = idx[i];
    memcpy(p->actb + i * nh, p->act + k * nh, nh * sizeof(int));
    lpo[i] = p->logp[k];
    adv[i] = p->adv[k];
    ret[i] = p->ret[k];
    vold[i] = p->val[k];
    /* the observation's non-zeros, from the compressed rollout */
    size_t a = p->optr[k], len = p->optr[k + 1] - a;
    p->bptr[i] = nz;
    memcpy(p->bidx + nz, p->oidx + a, len * sizeof *p->bidx);
    memcpy(p->bval + nz, p->oval + a, len * sizeof *p->bval);
    nz += len;
  }
  p->bptr[nb] = nz;
  /* a sparse minibatch (the test pg_mlp_forward makes) skips the dense copy */
  sparse_in sp = {p->bptr, p->bidx, p->bval};
  int sparse = (double)nz < PG_MLP_SPARSE_MAX_DENSITY * (double)(nb * D);
  if (!sparse)
    for (size_t i = 0; i < nb; i++) memcpy(p->xb + i * D, p->obs + idx[i] * D, D * sizeof(double));
  double loss;
  pg_status st = loss_grad(p, p->xb, sparse ? &sp : NULL, p->actb, lpo, adv, ret, vold, nb, &loss,
                           acc);
  if (st != PG_OK) return st;
  pg_mlp *nets[3] = {p->trunk, p->pi, p->vf};
  double gn = 0.0;
  for (int k = 0; k < 3; k++)
    if (nets[k]) gn += sumsq(nets[k]->grad, nets[k]->nparams);
  gn = sqrt(gn);
  if (!isfinite(gn)) return PG_EDOM;
  if (c->max_grad_norm > 0.0 && gn > c->max_grad_norm) {
    double s = c->max_grad_norm / (gn + 1e-6); /* as torch.nn.utils.clip_grad_norm_ */
    for (int k = 0; k < 3; k++)
      if (nets[k])
        for (size_t i = 0; i < nets[k]->nparams; i++) nets[k]->grad[i] *= s;
  }
  for (int k = 0; k < 3; k++)
    if (nets[k]) pg_mlp_adam_step(&p->adam[k], nets[k]->params, nets[k]->grad);
  acc->gn += gn;
  acc->nmb++;
  return PG_OK;
}

/* Per-minibatch results of the two halves of a separate-trunk update. */
typedef struct half_res {
  double ss;      /* sum of squared gradients of the half's network */
  double pl, ent, kl, cf, vl;
  pg_status st;
} half_res;

/* The observations of minibatch rows s..s+nb of epoch buffer k: the
 * networks read the compressed slice when sparse enough (as pg_mlp_forward
 * decides), else the dense rows idx[0..nb) are copied into X. */
static pg_status forward_slice(pg_ppo *p, pg_mlp *net, int k, size_t s, const size_t *idx,
                               size_t nb, double *X) {
  size_t D = p->cfg.obs_dim;
  const size_t *ptr = p->eptr[k] + s;
  if ((double)(ptr[nb] - ptr[0]) < PG_MLP_SPARSE_MAX_DENSITY * (double)(nb * D))
    return pg_mlp_forward_sparse_ref(net, nb, ptr, p->eidx[k] + ptr[0], p->eval[k] + ptr[0],
                                     p->ecptr[k] + s / p->cfg.batch_size * (D + 1),
                                     p->ecrow[k] + ptr[0], p->ecval[k] + ptr[0], NULL);
  for (size_t i = 0; i < nb; i++) memcpy(X + i * D, p->obs + idx[i] * D, D * sizeof(double));
  return pg_mlp_forward(net, X, nb, NULL);
}

/* Policy half of a minibatch (separate networks): forward, policy loss,
 * backward into p->pi->grad. */
static void policy_half(pg_ppo *p, int k, size_t s, const size_t *idx, size_t nb, half_res *r) {
  size_t nh = p->cfg.nheads;
  double *lpo = p->mb + 3 * nb, *adv = p->mb + 4 * nb;
  for (size_t i = 0; i < nb; i++) {
    size_t q = idx[i];
    memcpy(p->actb + i * nh, p->act + q * nh, nh * sizeof(int));
    lpo[i] = p->logp[q];
    adv[i] = p->adv[q];
  }
  if ((r->st = forward_slice(p, p->pi, k, s, idx, nb, p->xb)) != PG_OK) return;
  r->pl = policy_part(p, pg_mlp_output(p->pi), p->actb, lpo, adv, nb, &r->ent, &r->kl, &r->cf);
  if ((r->st = pg_mlp_backward_set(p->pi, p->dlogits, NULL)) != PG_OK) return;
  r->ss = sumsq(p->pi->grad, p->pi->nparams);
}

/* Value half: the same for the value network. */
static void value_half(pg_ppo *p, int k, size_t s, const size_t *idx, size_t nb, half_res *r) {
  double *ret = p->mb + 5 * nb, *vold = p->mb + 6 * nb;
  for (size_t i = 0; i < nb; i++) {
    ret[i] = p->ret[idx[i]];
    vold[i] = p->val[idx[i]];
  }
  if ((r->st = forward_slice(p, p->vf, k, s, idx, nb, p->xbv)) != PG_OK) return;
  r->vl = value_part(p, pg_mlp_output(p->vf), ret, vold, nb);
  if ((r->st = pg_mlp_backward_set(p->vf, p->dv, NULL)) != PG_OK) return;
  r->ss = sumsq(p->vf->grad, p->vf->nparams);
}

/* The rollout's compressed observations in the order perm into epoch
 * buffer k, and each minibatch's (B rows) by columns. */
static void permute_obs(pg_ppo *p, const size_t *perm, size_t N, size_t B, int k) {
  size_t nz = 0, *ptr = p->eptr[k];
  uint32_t *ix = p->eidx[k];
  double *val = p->eval[k];
  for (size_t i = 0; i < N; i++) {
    size_t a = p->optr[perm[i]], len = p->optr[perm[i] + 1] - a;
    ptr[i] = nz;
    memcpy(ix + nz, p->oidx + a, len * sizeof *ix);
    memcpy(val + nz, p->oval + a, len * sizeof *val);
    nz += len;
  }
  ptr[N] = nz;
  size_t D = p->cfg.obs_dim;
  for (size_t s = 0; s < N; s += B) {
    size_t nb = N - s < B ? N - s : B;
    pg_mlp_rows_to_columns(nb, D, ptr + s, ix + ptr[s], val + ptr[s],
                           p->ecptr[k] + s / B * (D + 1), p->ecrow[k] + ptr[s],
                           p->ecval[k] + ptr[s]);
  }
}

/* ---- the two halves on two threads ----
 * A worker thread runs the value halves while the caller runs the policy
 * halves. After each minibatch both publish the squared norm of their
 * gradient and wait for the other's (the only coupling: the global norm of
 * the clip), spinning briefly, then sleeping on a condition variable (a
 * loaded machine deschedules threads; spinning on would burn its CPU). */
typedef struct duo {
  pg_ppo *p;
  size_t *perms;       /* 2 x N: the orders of epochs e (at e mod 2) */
  size_t N, B, nmb;    /* samples, minibatch size, minibatches in all */
  half_res res[2][2];  /* [minibatch parity][half] */
  atomic_size_t done[2]; /* [half]: minibatches published */
  atomic_size_t epochs;  /* epoch orders drawn */
  atomic_int waiting[2];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  upd_acc *acc;
} duo;

static void duo_publish(duo *d, int me, atomic_size_t *c, size_t k) {
  atomic_store(c, k);
  if (atomic_load(&d->waiting[1 - me])) {
    pthread_mutex_lock(&d->mu);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
  }
}

static void duo_wait(duo *d, int me, atomic_size_t *o, size_t k) {
  for (int i = 0; i < 2000; i++) {
    if (atomic_load_explicit(o, memory_order_acquire) >= k) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  pthread_mutex_lock(&d->mu);
  atomic_store(&d->waiting[me], 1);
  while (atomic_load(o) < k) pthread_cond_wait(&d->cv, &d->mu);
  atomic_store(&d->waiting[me], 0);
  pthread_mutex_unlock(&d->mu);
}

/* One half's run over every minibatch; returns its first error. Both halves
 * compute the same norm from the same two sums, in the same order, so they
 * stop together. */
static pg_status duo_run(duo *d, int me, int threaded) {
  pg_ppo *p = d->p;
  double mgn = p->cfg.max_grad_norm;
  size_t mb = 0;
  for (size_t e = 0; e < p->cfg.n_epochs; e++) {
    size_t *perm = d->perms + (e & 1) * d->N;
    if (me == 0) { /* the epoch's order (the other half reads it) */
      for (size_t i = 0; i < d->N; i++) perm[i] = i;
      pg_rng_shuffle(&p->rng, perm, d->N);
      permute_obs(p, perm, d->N, d->B, (int)(e & 1));
      if (threaded) duo_publish(d, 0, &d->epochs, e + 1);
    } else {
      duo_wait(d, 1, &d->epochs, e + 1);
    }
    for (size_t s = 0; s < d->N; s += d->B, mb++) {
      size_t nb = d->N - s < d->B ? d->N - s : d->B;
      const size_t *idx = perm + s;
      half_res *r = d->res[mb & 1];
      if (threaded) {
        if (me == 0)
          policy_half(p, (int)(e & 1), s, idx, nb, &r[0]);
        else
          value_half(p, (int)(e & 1), s, idx, nb, &r[1]);
        duo_publish(d, me, &d->done[me], mb + 1);
        duo_wait(d, me, &d->done[1 - me], mb + 1);
      } else {
        policy_half(p, (int)(e & 1), s, idx, nb, &r[0]);
        value_half(p, (int)(e & 1), s, idx, nb, &r[1]);
      }
      double gn = 0.0;
      gn += r[0].ss;
      gn += r[1].ss;
      gn = sqrt(gn);
      if (r[0].st != PG_OK) return r[0].st;
      if (r[1].st != PG_OK) return r[1].st;
      if (!isfinite(gn)) return PG_EDOM;
      /* clip as torch.nn.utils.clip_grad_norm_, inside the Adam step */
      double sc = mgn > 0.0 && gn > mgn ? mgn / (gn + 1e-6) : 1.0;
      if (me == 0 || !threaded) {
        pg_mlp_adam_step_scaled(&p->adam[1], p->pi->params, p->pi->grad, sc);
        d->acc->pl += r[0].pl;
        d->acc->ent += r[0].ent / (double)nb;
        d->acc->kl += r[0].kl / (double)nb;
        d->acc->cf += r[0].cf;
        d->acc->gn += gn;
        d->acc->nmb++;
      }
      if (me == 1 || !threaded) {
        pg_mlp_adam_step_scaled(&p->adam[2], p->vf->params, p->vf->grad, sc);
        d->acc->vl += r[1].vl;
      }
    }
  }
  return PG_OK;
}

static void *duo_worker(void *arg) {
  duo *d = arg;
  pg_status *out = malloc(sizeof *out);
  pg_status s = duo_run(d, 1, 1);
  if (out) *out = s;
  return out;
}

/* The update with separate policy and value networks. The two networks
 * share nothing but the global gradient norm, so each minibatch runs as a
 * policy half and a value half, on two threads when perigee's thread count
 * (parallel.h) is above 1. Every network sees the same operations in the
 * same order whatever the thread count, and the norm is summed in a fixed
 * order: bit-identical results. */
static pg_status update_separate(pg_ppo *p, upd_acc *acc) {
  size_t N = p->cfg.n_steps * p->n_envs;
  duo d;
  memset(&d, 0, sizeof d);
  d.p = p;
  d.perms = p->perm;
  d.N = N;
  d.B = p->cfg.batch_size < N ? p->cfg.batch_size : N;
  d.acc = acc;
  atomic_init(&d.done[0], 0);
  atomic_init(&d.done[1], 0);
  atomic_init(&d.epochs, 0);
  atomic_init(&d.waiting[0], 0);
  atomic_init(&d.waiting[1], 0);
  /* two threads only with a core to spare: on a machine loaded beyond its
     cores the halves wait for each other's time slices (results do not
     depend on the choice) */
  double load = 0.0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int threaded = p->threads_mode == PG_PPO_THREADS_ON ||
                 (p->threads_mode == PG_PPO_THREADS_AUTO && pg_threads_get() > 1 && ncpu > 1 &&
                  getloadavg(&load, 1) == 1 && load < (double)ncpu - 0.5);
  pthread_t th;
  if (threaded) {
    if (pthread_mutex_init(&d.mu, NULL) != 0) {
      threaded = 0;
    } else if (pthread_cond_init(&d.cv, NULL) != 0) {
      pthread_mutex_destroy(&d.mu);
      threaded = 0;
    } else if (pthread_create(&th, NULL, duo_worker, &d) != 0) {
      pthread_cond_destroy(&d.cv);
      pthread_mutex_destroy(&d.mu);
      threaded = 0;
    }
  }
  int saved = pg_par_enter(threaded ? 2 : 1); /* one BLAS thread per half, either way */
  if (!threaded) {
    pg_status st = duo_run(&d, 0, 0);
    pg_par_leave(saved);
    return st;
  }
  pg_status st = duo_run(&d, 0, 1);
  void *ret = NULL;
  pthread_join(th, &ret);
  pg_par_leave(saved);
  pg_status st1 = ret ? *(pg_status *)ret : PG_ENOMEM;
  free(ret);
  pthread_cond_destroy(&d.cv);
  pthread_mutex_destroy(&d.mu);
  return st != PG_OK ? st : st1;
}

static pg_status update(pg_ppo *p, upd_acc *acc) {
  size_t N = p->cfg.n_steps * p->n_envs, D = p->cfg.obs_dim;
  size_t B = p->cfg.batch_size < N ? p->cfg.batch_size : N;
  /* compress the rollout's observations once (branch-free) */
  size_t c = 0;
  for (size_t r = 0; r < N; r++) {
    p->optr[r] = c;
    const double *x = p->obs + r * D;
    for (size_t k = 0; k < D; k++) {
      p->oidx[c] = (uint32_t)k;
      p->oval[c] = x[k];
      c += x[k] != 0.0;
    }
  }
  p->optr[N] = c;
  if (!p->trunk) {
    if (c + 1 > p->ecap) {
      for (int k = 0; k < 2; k++) {
        uint32_t *ix = realloc(p->eidx[k], (c + 1) * sizeof *ix);
        if (ix) p->eidx[k] = ix;
        double *v = realloc(p->eval[k], (c + 1) * sizeof *v);
        if (v) p->eval[k] = v;
        uint32_t *cr = realloc(p->ecrow[k], (c + 1) * sizeof *cr);
        if (cr) p->ecrow[k] = cr;
        double *cv = realloc(p->ecval[k], (c + 1) * sizeof *cv);
        if (cv) p->ecval[k] = cv;
        if (!ix || !v || !cr || !cv) return PG_ENOMEM;
      }
      p->ecap = c + 1;
    }
    return update_separate(p, acc);
  }
  for (size_t e = 0; e < p->cfg.n_epochs; e++) {
    for (size_t i = 0; i < N; i++) p->perm[i] = i;
    pg_rng_shuffle(&p->rng, p->perm, N);
    for (size_t s = 0; s < N; s += B) {
      size_t nb = N - s < B ? N - s : B;
      pg_status st = minibatch(p, p->perm + s, nb, acc);
      if (st != PG_OK) return st;
    }
  }
  return PG_OK;
}

void pg_ppo_detach(pg_ppo *p) { p->attached = 0; }

void pg_ppo_set_threads(pg_ppo *p, int mode) {
  p->threads_mode = mode == PG_PPO_THREADS_ON || mode == PG_PPO_THREADS_OFF ? mode
                                                                          : PG_PPO_THREADS_AUTO;
}

pg_status pg_ppo_learn(pg_ppo *p, pg_env *envs, size_t E, uint64_t steps, pg_ppo_stats *stats) {
  if (E < 1 || E > MAX_ENVS) return PG_EINVAL;
  for (size_t e = 0; e < E; e++) {
    if (!envs[e].reset || !envs[e].step) return PG_EINVAL;
    if (envs[e].obs_dim != p->cfg.obs_dim || envs[e].nheads != p->cfg.nheads) return PG_ESHAPE;
    for (size_t h = 0; h < p->cfg.nheads; h++)
      if (envs[e].head_sizes[h] != p->cfg.head_sizes[h]) return PG_ESHAPE;
  }
  pg_status st = attach(p, envs, E);
  if (st == PG_OK && p->batch_cap < p->cfg.batch_size) st = reserve_batch(p, p->cfg.batch_size);
  if (st != PG_OK) {
    p->attached = 0;
    return st;
  }
  double ret_sum = 0.0, len_sum = 0.0;
  uint64_t neps = 0, done = 0;
  upd_acc acc = {0};
  double ev = NAN;
  size_t N = p->cfg.n_steps * E;
  while (done < steps) {
    st = collect(p, envs, &ret_sum, &len_sum, &neps);
    if (st != PG_OK) {
      p->attached = 0; /* episodes in progress are lost: reset next time */
      return st;
    }
    pg_ppo_gae(p->rew, p->val, p->done, p->last_val, p->cfg.n_steps, E, p->cfg.gamma,
               p->cfg.lambda, p->adv, p->ret);
    /* explained variance of the rollout's value predictions */
    double mr = 0, me = 0, vr = 0, ve = 0;
    for (size_t i = 0; i < N; i++) {
      mr += p->ret[i];
      me += p->ret[i] - p->val[i];
    }
    mr /= (double)N;
    me /= (double)N;
    for (size_t i = 0; i < N; i++) {
      vr += (p->ret[i] - mr) * (p->ret[i] - mr);
      double d = p->ret[i] - p->val[i] - me;
      ve += d * d;
    }
    ev = vr > 0 ? 1.0 - ve / vr : NAN;
    if ((st = update(p, &acc)) != PG_OK) {
      p->attached = 0;
      return st;
    }
    done += N;
    p->timesteps += N;
    p->updates++;
  }
  if (stats) {
    double m = acc.nmb ? (double)acc.nmb : NAN;
    stats->timesteps = p->timesteps;
    stats->updates = p->updates;
    stats->policy_loss = acc.pl / m;
    stats->value_loss = acc.vl / m;
    stats->entropy = acc.ent / m;
    stats->approx_kl = acc.kl / m;
    stats->clip_fraction = acc.cf / m;
    stats->grad_norm = acc.gn / m;
    stats->explained_variance = ev;
    stats->episodes = neps;
    stats->ep_return_mean = neps ? ret_sum / (double)neps : NAN;
    stats->ep_len_mean = neps ? len_sum / (double)neps : NAN;
  }
  return PG_OK;
}

/* ---- files ---- */

pg_status pg_ppo_save(const pg_ppo *p, const char *path) {
  gzFile f = gzopen(path, "wb");
  if (!f) return PG_EIO;
  const pg_ppo_config *c = &p->cfg;
  int ok = gzprintf(f, "perigee-ppo 1\nobs_dim %zu\nnheads %zu\nheads", c->obs_dim, c->nheads) > 0;
  for (size_t h = 0; h < c->nheads; h++) ok = ok && gzprintf(f, " %zu", c->head_sizes[h]) > 0;
  ok = ok && gzprintf(f, "\njoint %d\nshared %d\nact %d\nnhidden %zu\nhidden", c->joint,
                      c->shared, (int)c->act, c->nhidden) > 0;
  for (size_t l = 0; l < c->nhidden; l++) ok = ok && gzprintf(f, " %zu", c->hidden[l]) > 0;
  ok = ok && gzprintf(f, "\nreals %a %a %a %a %a %a %a %a %a\n", c->lr, c->adam_eps, c->gamma,
                      c->lambda, c->clip, c->clip_vf, c->vf_coef, c->ent_coef,
                      c->max_grad_norm) > 0;
  ok = ok && gzprintf(f, "ints %d %zu %zu %zu %llu %llu %llu\n", c->norm_adv, c->n_steps,
                      c->batch_size, c->n_epochs, (unsigned long long)c->seed,
                      (unsigned long long)p->timesteps, (unsigned long long)p->updates) > 0;
  pg_status st = ok ? PG_OK : PG_EIO;
  if (st == PG_OK && p->trunk) st = pg_mlp_write(p->trunk, f);
  if (st == PG_OK) st = pg_mlp_write(p->pi, f);
  if (st == PG_OK) st = pg_mlp_write(p->vf, f);
  if (gzclose(f) != Z_OK && st == PG_OK) st = PG_EIO;
  return st;
}

/* Read "key v1 v2 ..." of unsigned integers; returns the count read. */
static int read_sizes(gzFile f, const char *key, size_t *v, int max) {
  char line[512];
  if (!gzgets(f, line, sizeof line)) return -1;
  size_t kl = strlen(key);
  if (strncmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != '\n')) return -1;
  char *q = line + kl;
  int n = 0;
  while (n < max) {
    char *e;
    unsigned long long x = strtoull(q, &e, 10);
    if (e == q) break;
    v[n++] = (size_t)x;
    q = e;
  }
  return n;
}

pg_status pg_ppo_load(pg_ppo **out, const char *path) {
  *out = NULL;
  gzFile f = gzopen(path, "rb");
  if (!f) return PG_EIO;
  pg_ppo_config c;
  pg_ppo_config_default(&c);
  char line[1024];
  size_t v[PG_MLP_MAX_LAYERS];
  pg_status st = PG_EFORMAT;
  pg_ppo *p = NULL;
  unsigned long long seed, ts, up;
  int act;
  if (!gzgets(f, line, sizeof line) || strcmp(line, "perigee-ppo 1\n") != 0) goto done;
  if (read_sizes(f, "obs_dim", &c.obs_dim, 1) != 1) goto done;
  if (read_sizes(f, "nheads", &c.nheads, 1) != 1 || c.nheads < 1 || c.nheads > PG_PPO_MAX_HEADS)
    goto done;
  if (read_sizes(f, "heads", c.head_sizes, (int)c.nheads) != (int)c.nheads) goto done;
  if (read_sizes(f, "joint", v, 1) != 1) goto done;
  c.joint = (int)v[0];
  if (read_sizes(f, "shared", v, 1) != 1) goto done;
  c.shared = (int)v[0];
  if (read_sizes(f, "act", v, 1) != 1) goto done;
  act = (int)v[0];
  c.act = (pg_mlp_act)act;
  if (read_sizes(f, "nhidden", &c.nhidden, 1) != 1 || c.nhidden > PG_MLP_MAX_LAYERS - 1)
    goto done;
  if (read_sizes(f, "hidden", c.hidden, (int)c.nhidden) != (int)c.nhidden) goto done;
  if (!gzgets(f, line, sizeof line) ||
      sscanf(line, "reals %la %la %la %la %la %la %la %la %la", &c.lr, &c.adam_eps, &c.gamma,
             &c.lambda, &c.clip, &c.clip_vf, &c.vf_coef, &c.ent_coef, &c.max_grad_norm) != 9)
    goto done;
  if (!gzgets(f, line, sizeof line) ||
      sscanf(line, "ints %d %zu %zu %zu %llu %llu %llu", &c.norm_adv, &c.n_steps, &c.batch_size,
             &c.n_epochs, &seed, &ts, &up) != 7)
    goto done;
  c.seed = seed;
  if (pg_ppo_config_check(&c)) goto done;
  if ((st = alloc_agent(&p, &c)) != PG_OK) goto done;
  st = PG_EFORMAT;
  if (c.shared && pg_mlp_read(&p->trunk, f) != PG_OK) goto done;
  if (pg_mlp_read(&p->pi, f) != PG_OK || pg_mlp_read(&p->vf, f) != PG_OK) goto done;
  /* the networks must match the configuration */
  pg_ppo *ref;
  if ((st = alloc_agent(&ref, &c)) != PG_OK) goto done;
  st = build_nets(ref);
  if (st == PG_OK) {
    pg_mlp *a[3] = {p->trunk, p->pi, p->vf}, *b[3] = {ref->trunk, ref->pi, ref->vf};
    for (int k = 0; k < 3 && st == PG_OK; k++) {
      if (!a[k] != !b[k]) st = PG_EFORMAT;
      else if (a[k] && (pg_mlp_copy_params(b[k], a[k]) != PG_OK || a[k]->act != b[k]->act ||
                        a[k]->act_out != b[k]->act_out))
        st = PG_EFORMAT;
    }
  }
  pg_ppo_free(ref);
  if (st != PG_OK) goto done;
  if ((st = build_adam(p)) != PG_OK) goto done;
  p->timesteps = ts;
  p->updates = up;
  /* a fresh stream for sampling, distinct from the creation stream */
  pg_rng_seed(&p->rng, c.seed ^ (ts * 0x9e3779b97f4a7c15ULL));
done:
  gzclose(f);
  if (st != PG_OK) {
    pg_ppo_free(p);
    return st;
  }
  *out = p;
  return PG_OK;
}

/* ---- direct access for tests and tools ---- */

size_t pg_ppo_get_params(const pg_ppo *p, double *out) {
  const pg_mlp *nets[3] = {p->trunk, p->pi, p->vf};
  size_t o = 0;
  for (int k = 0; k < 3; k++)
    if (nets[k]) {
      if (out) memcpy(out + o, nets[k]->params, nets[k]->nparams * sizeof *out);
      o += nets[k]->nparams;
    }
  return o;
}

void pg_ppo_set_params(pg_ppo *p, const double *in) {
  pg_mlp *nets[3] = {p->trunk, p->pi, p->vf};
  size_t o = 0;
  for (int k = 0; k < 3; k++)
    if (nets[k]) {
      memcpy(nets[k]->params, in + o, nets[k]->nparams * sizeof *in);
      o += nets[k]->nparams;
    }
}

pg_status pg_ppo_loss(pg_ppo *p, const double *obs, const int *actions, const double *logp_old,
                      const double *adv, const double *returns, const double *values_old,
                      size_t n, double *loss, double *grad) {
  if (n == 0) return PG_EINVAL;
  for (size_t i = 0; i < n; i++)
    for (size_t h = 0; h < p->cfg.nheads; h++)
      if (actions[i * p->cfg.nheads + h] < 0 ||
          (size_t)actions[i * p->cfg.nheads + h] >= p->cfg.head_sizes[h])
        return PG_ERANGE;
  pg_status st = PG_OK;
  if (n > p->batch_cap) st = reserve_batch(p, n);
  if (st != PG_OK) return st;
  st = loss_grad(p, obs, NULL, actions, logp_old, adv, returns, values_old, n, loss, NULL);
  if (st != PG_OK || !grad) return st;
  const pg_mlp *nets[3] = {p->trunk, p->pi, p->vf};
  size_t o = 0;
  for (int k = 0; k < 3; k++)
    if (nets[k]) {
      memcpy(grad + o, nets[k]->grad, nets[k]->nparams * sizeof *grad);
      o += nets[k]->nparams;
    }
  return PG_OK;
}
