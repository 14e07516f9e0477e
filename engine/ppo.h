/*
 * ppo.h -- Proximal Policy Optimization with categorical (possibly factored)
 * actions, small MLP policy and value networks, and environments written in
 * C or (through the bindings) in Lua.
 *
 * References:
 * - J. Schulman, F. Wolski, P. Dhariwal, A. Radford, O. Klimov, "Proximal
 *   Policy Optimization Algorithms", arXiv:1707.06347, 2017 (clipped
 *   surrogate, epochs of minibatch updates).
 * - J. Schulman, P. Moritz, S. Levine, M. Jordan, P. Abbeel, "High-dimensional
 *   continuous control using generalized advantage estimation", ICLR 2016 (GAE).
 * - Defaults follow stable-baselines3's PPO (the library Sim-is-More's public
 *   code uses): rollout 2048 steps, minibatch 64, 10 epochs, lr 3e-4, Adam
 *   eps 1e-5, gamma 0.99, lambda 0.95, clip 0.2, value coefficient 0.5,
 *   entropy coefficient 0, max gradient norm 0.5, per-minibatch advantage
 *   normalisation, two hidden layers of 64 tanh units, orthogonal init with
 *   gain sqrt(2) on hidden layers, 0.01 on the policy output and 1 on the
 *   value output; time-limit truncation bootstraps by adding gamma * V(s_T)
 *   to the last reward.
 *
 * Losses (minimised), over a minibatch of B samples with ratio
 * rho = exp(log pi(a|s) - log pi_old(a|s)) and normalised advantage A:
 *   L_pi  = -1/B sum min(rho A, clip(rho, 1-eps, 1+eps) A)
 *   L_v   = 1/B sum (V - R)^2, or with clip_vf > 0 the PPO2 form
 *           1/B sum max((V - R)^2, (V_old + clip(V - V_old, +-clip_vf) - R)^2)
 *   L_ent = -1/B sum H(pi(.|s))
 *   L     = L_pi + vf_coef L_v + ent_coef L_ent
 * All gradients are analytic (tests/c/test_ppo.c checks them against finite
 * differences).
 *
 * Factored actions: an environment declares nheads categorical heads of sizes
 * head_sizes[] (NAS-Bench-201: edge in 0..5, operation in 0..4). With
 * joint = 0 (default, as stable-baselines3's MultiDiscrete) the policy outputs
 * sum(head_sizes) logits and the heads are independent given the state:
 * log pi(a|s) = sum_h log pi_h(a_h|s), H = sum_h H_h. With joint = 1 the
 * policy outputs prod(head_sizes) logits, one categorical over all
 * combinations (mixed radix, last head fastest), which can express any
 * dependence between heads.
 *
 * Determinism: everything stochastic (init, sampling, minibatch shuffles,
 * environment randomness) draws from generators derived from cfg.seed, so
 * the same seed and the same environments give bit-identical results.
 */
#ifndef PG_PPO_H
#define PG_PPO_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"
#include "rng.h"
#include "status.h"

#define PG_PPO_MAX_HEADS 8
#define PG_PPO_MAX_LOGITS 65536

/* An environment. reset writes the first observation (obs_dim doubles).
 * step applies action[0..nheads) and writes the next observation, the reward
 * and two flags: *terminal when a terminal state is reached (no bootstrap),
 * *truncated when the episode is cut by a time limit (the trainer bootstraps
 * from the value of the observation written). After either flag the trainer
 * calls reset. A non-PG_OK status aborts training and is returned. */
typedef struct pg_env {
  size_t obs_dim;
  size_t nheads;
  size_t head_sizes[PG_PPO_MAX_HEADS];
  void *ctx;
  pg_status (*reset)(void *ctx, pg_rng *rng, double *obs);
  pg_status (*step)(void *ctx, pg_rng *rng, const int *action, double *obs, double *reward,
                    int *terminal, int *truncated);
} pg_env;

typedef struct pg_ppo_config {
  size_t obs_dim;
  size_t nheads;
  size_t head_sizes[PG_PPO_MAX_HEADS];
  int joint;               /* 1: one categorical over the product of the heads */
  int shared;              /* 1: policy and value share the hidden trunk */
  size_t nhidden;          /* number of hidden layers (0..PG_MLP_MAX_LAYERS-1) */
  size_t hidden[PG_MLP_MAX_LAYERS - 1];
  pg_mlp_act act;
  double lr, adam_eps;
  double gamma, lambda;
  double clip;             /* surrogate clip epsilon */
  double clip_vf;          /* <= 0: value loss not clipped */
  double vf_coef, ent_coef;
  double max_grad_norm;    /* <= 0: no clipping */
  int norm_adv;            /* 1: normalise advantages per minibatch */
  size_t n_steps;          /* rollout length per environment */
  size_t batch_size;       /* minibatch size */
  size_t n_epochs;
  uint64_t seed;
} pg_ppo_config;

/* stable-baselines3's defaults (see the header comment); obs_dim and the
 * heads are left zero for the caller to fill. */
void pg_ppo_config_default(pg_ppo_config *c);

/* Statistics of the last pg_ppo_learn call. */
typedef struct pg_ppo_stats {
  uint64_t timesteps;      /* total environment steps since creation */
  uint64_t updates;        /* total rollouts trained on */
  double policy_loss, value_loss, entropy, approx_kl, clip_fraction, explained_variance;
  double grad_norm;        /* mean pre-clip gradient norm */
  uint64_t episodes;       /* episodes finished during the call */
  double ep_return_mean;   /* mean undiscounted return of those episodes (NaN if none) */
  double ep_len_mean;
} pg_ppo_stats;

typedef struct pg_ppo pg_ppo;

/* Validate cfg and build the networks (initialised from cfg.seed).
 * PG_EINVAL names no field; pg_ppo_config_check gives a message. */
pg_status pg_ppo_new(pg_ppo **out, const pg_ppo_config *cfg);
void pg_ppo_free(pg_ppo *p);
/* NULL when cfg is valid, else a static message naming the bad field. */
const char *pg_ppo_config_check(const pg_ppo_config *cfg);
const pg_ppo_config *pg_ppo_get_config(const pg_ppo *p);
/* Number of policy logits (sum or product of the heads). */
size_t pg_ppo_nlogits(const pg_ppo *p);
/* Total number of trainable parameters. */
size_t pg_ppo_nparams(const pg_ppo *p);

/* Train on n_envs environments (all with the agent's obs_dim and heads) for
 * at least `steps` more environment steps, in whole rollouts of
 * n_steps * n_envs. Successive calls continue the episodes in progress when
 * given the same environments (same pointers, same order); otherwise the
 * environments are reset. stats may be NULL. */
pg_status pg_ppo_learn(pg_ppo *p, pg_env *envs, size_t n_envs, uint64_t steps,
                       pg_ppo_stats *stats);

/* Forget the attached environments: the next pg_ppo_learn resets them. */
void pg_ppo_detach(pg_ppo *p);

/* Threads of the update with separate policy and value networks: the
 * policy and value halves of each minibatch on two threads (they meet once
 * per minibatch for the global gradient norm). AUTO (default): when
 * perigee's thread count (parallel.h) is above 1 and the 1-minute load
 * average leaves a core to spare; ON / OFF force it. Results are
 * bit-identical in every mode. */
#define PG_PPO_THREADS_AUTO 0
#define PG_PPO_THREADS_OFF 1
#define PG_PPO_THREADS_ON 2
void pg_ppo_set_threads(pg_ppo *p, int mode);

/* Policy and value on n observations (n x obs_dim). actions: n x nheads
 * ints (sampled with rng, or the mode when deterministic; rng may then be
 * NULL). logp and value (n each) may be NULL. */
pg_status pg_ppo_act(pg_ppo *p, const double *obs, size_t n, int deterministic, pg_rng *rng,
                     int *actions, double *logp, double *value);
/* Per-head action probabilities for one observation: out has
 * pg_ppo_nlogits(p) entries (each head's block sums to 1; joint: one block). */
pg_status pg_ppo_probs(pg_ppo *p, const double *obs, double *out);

/* Save the configuration and parameters (gzip text, exact), and load them
 * into a new agent (optimiser state is not saved: a loaded agent trains on
 * with fresh Adam moments). */
pg_status pg_ppo_save(const pg_ppo *p, const char *path);
pg_status pg_ppo_load(pg_ppo **out, const char *path);

/* ---- building blocks, exposed for tests and for users ---- */

/* All parameters as one vector (trunk, policy, value); returns the count
 * and copies them when out is not NULL. set_params reads the same layout. */
size_t pg_ppo_get_params(const pg_ppo *p, double *out);
void pg_ppo_set_params(pg_ppo *p, const double *in);

/* The PPO loss L (header comment) on a batch of n samples and, when grad is
 * not NULL, dL/dparams in the get_params layout. */
pg_status pg_ppo_loss(pg_ppo *p, const double *obs, const int *actions, const double *logp_old,
                      const double *adv, const double *returns, const double *values_old,
                      size_t n, double *loss, double *grad);

/* Generalised advantage estimation over a rollout laid out [t][env]
 * (n_steps x n_envs): rewards r, value estimates v, done[t][e] = 1 when the
 * episode ended after step t (its next state is not v[t+1]), last_values =
 * V of the observation after the last step. Writes advantages and returns
 * (adv + v):
 *   delta_t = r_t + gamma (1 - done_t) v_{t+1} - v_t
 *   A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1}. */
void pg_ppo_gae(const double *r, const double *v, const unsigned char *done,
                const double *last_values, size_t n_steps, size_t n_envs, double gamma,
                double lambda, double *adv, double *ret);

/* Clipped surrogate -1/n sum min(rho_i A_i, clip(rho_i) A_i) with rho_i =
 * exp(logp_new_i - logp_old_i); writes d loss / d logp_new_i into grad
 * (may be NULL) and the fraction of clipped samples into *clipfrac (may be
 * NULL). */
double pg_ppo_surrogate(const double *logp_new, const double *logp_old, const double *adv,
                        size_t n, double clip, double *grad, double *clipfrac);

/* Categorical over k logits: log-softmax into logp (k), returns entropy. */
double pg_categorical_logsoftmax(const double *logits, size_t k, double *logp);
/* Index drawn from softmax(logits) (scratch: k doubles). */
size_t pg_categorical_sample(const double *logits, size_t k, pg_rng *rng, double *scratch);

#endif
