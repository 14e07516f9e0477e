/* test_ppo.c -- PPO building blocks against hand computations and finite
 * differences; learning checks on bandits and a chain MDP; determinism;
 * save/load. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "parallel.h"
#include "ppo.h"

static void test_categorical(void **state) {
  (void)state;
  /* logits log(1), log(2), log(3) + 7: probabilities 1/6, 2/6, 3/6 */
  double z[3] = {7.0, 7.0 + log(2.0), 7.0 + log(3.0)}, lp[3];
  double H = pg_categorical_logsoftmax(z, 3, lp);
  double p[3] = {1.0 / 6, 2.0 / 6, 3.0 / 6}, Hx = 0;
  for (int j = 0; j < 3; j++) {
    assert_true(fabs(lp[j] - log(p[j])) < 1e-14);
    Hx -= p[j] * log(p[j]);
  }
  assert_true(fabs(H - Hx) < 1e-14);
  /* sampling frequencies */
  pg_rng r;
  pg_rng_seed(&r, 1);
  double scratch[3];
  int cnt[3] = {0, 0, 0};
  const int n = 60000;
  for (int i = 0; i < n; i++) cnt[pg_categorical_sample(z, 3, &r, scratch)]++;
  for (int j = 0; j < 3; j++) /* 5 standard errors */
    assert_true(fabs(cnt[j] / (double)n - p[j]) < 5 * sqrt(p[j] * (1 - p[j]) / n));
  /* huge logits do not overflow */
  double big[2] = {1000.0, 0.0};
  H = pg_categorical_logsoftmax(big, 2, lp);
  assert_true(lp[0] == 0.0 && isfinite(lp[1]) && H >= 0.0 && H < 1e-300 + 1e-12);
}

/* Hand-computed example (gamma 0.9, lambda 0.8), one env:
 *   t=2: delta = 3 + 0.9*2 - 1.5 = 3.3, A = 3.3
 *   t=1: episode ended: delta = 2 - 1 = 1, A = 1
 *   t=0: delta = 1 + 0.9*1 - 0.5 = 1.4, A = 1.4 + 0.72*1 = 2.12 */
static void test_gae(void **state) {
  (void)state;
  double r[3] = {1, 2, 3}, v[3] = {0.5, 1, 1.5}, last = 2, adv[3], ret[3];
  unsigned char done[3] = {0, 1, 0};
  pg_ppo_gae(r, v, done, &last, 3, 1, 0.9, 0.8, adv, ret);
  assert_true(fabs(adv[2] - 3.3) < 1e-12);
  assert_true(fabs(adv[1] - 1.0) < 1e-12);
  assert_true(fabs(adv[0] - 2.12) < 1e-12);
  for (int i = 0; i < 3; i++) assert_true(fabs(ret[i] - adv[i] - v[i]) < 1e-12);
  /* two envs interleaved [t][e] give the same per-env result; lambda = 1
     and gamma = 1 reduce to Monte-Carlo returns minus values */
  double r2[6] = {1, 5, 2, 6, 3, 7}, v2[6] = {0.5, 0, 1, 0, 1.5, 0}, last2[2] = {2, 10};
  unsigned char d2[6] = {0, 0, 1, 0, 0, 1};
  double a2[6], R2[6];
  pg_ppo_gae(r2, v2, d2, last2, 3, 2, 0.9, 0.8, a2, R2);
  for (int t = 0; t < 3; t++) assert_true(fabs(a2[2 * t] - adv[t]) < 1e-12);
  pg_ppo_gae(r2, v2, d2, last2, 3, 2, 1.0, 1.0, a2, R2);
  assert_true(fabs(R2[1] - 18.0) < 1e-12 && fabs(R2[3] - 13.0) < 1e-12 && R2[5] == 7.0);
}

/* Clipped surrogate on hand cases, eps = 0.2, n = 5:
 *   A = +1, rho = 1.5: min(1.5, 1.2) = 1.2, flat (clipped)
 *   A = +1, rho = 0.5: min(0.5, 0.8) = 0.5, slope -rho A / n
 *   A = -1, rho = 1.5: min(-1.5, -1.2) = -1.5, slope -rho A / n
 *   A = -1, rho = 0.5: min(-0.5, -0.8) = -0.8, flat
 *   A = +2, rho = 1.1: inside, 2.2, slope -rho A / n */
static void test_surrogate(void **state) {
  (void)state;
  double rho[5] = {1.5, 0.5, 1.5, 0.5, 1.1}, A[5] = {1, 1, -1, -1, 2};
  double lo[5] = {0.3, -1.0, 2.0, 0.0, -0.4}, ln[5], g[5], cf;
  for (int i = 0; i < 5; i++) ln[i] = lo[i] + log(rho[i]);
  double L = pg_ppo_surrogate(ln, lo, A, 5, 0.2, g, &cf);
  double expect = -(1.2 + 0.5 - 1.5 - 0.8 + 2.2) / 5;
  assert_true(fabs(L - expect) < 1e-12);
  assert_true(g[0] == 0.0 && g[3] == 0.0);
  assert_true(fabs(g[1] - (-0.5 / 5)) < 1e-12);
  assert_true(fabs(g[2] - (1.5 / 5)) < 1e-12);
  assert_true(fabs(g[4] - (-2.2 / 5)) < 1e-12);
  assert_true(fabs(cf - 4.0 / 5) < 1e-12);
  /* the gradient matches finite differences away from the kinks */
  for (int i = 0; i < 5; i++) {
    double h = 1e-6, save = ln[i];
    ln[i] = save + h;
    double lp = pg_ppo_surrogate(ln, lo, A, 5, 0.2, NULL, NULL);
    ln[i] = save - h;
    double lm = pg_ppo_surrogate(ln, lo, A, 5, 0.2, NULL, NULL);
    ln[i] = save;
    assert_true(fabs((lp - lm) / (2 * h) - g[i]) < 1e-7);
  }
}

static pg_ppo *make_agent(size_t obs, size_t nheads, const size_t *heads, int shared, int joint,
                          uint64_t seed) {
  pg_ppo_config c;
  pg_ppo_config_default(&c);
  c.obs_dim = obs;
  c.nheads = nheads;
  for (size_t h = 0; h < nheads; h++) c.head_sizes[h] = heads[h];
  c.shared = shared;
  c.joint = joint;
  c.hidden[0] = 8;
  c.hidden[1] = 7;
  c.seed = seed;
  pg_ppo *p;
  assert_int_equal(pg_ppo_new(&p, &c), PG_OK);
  return p;
}

/* The full PPO loss (surrogate with some clipped samples, clipped value loss,
 * entropy bonus) against central finite differences, for separate and shared
 * trunks, factored and joint heads. */
static void check_loss_grad(int shared, int joint) {
  size_t heads[2] = {3, 4};
  pg_ppo *p = make_agent(5, 2, heads, shared, joint, 9);
  pg_ppo_config *c = (pg_ppo_config *)pg_ppo_get_config(p);
  c->ent_coef = 0.05;
  c->clip_vf = 0.3;
  c->vf_coef = 0.7;
  pg_rng r;
  pg_rng_seed(&r, 4);
  size_t np = pg_ppo_get_params(p, NULL);
  double *theta = malloc(np * sizeof *theta), *g = malloc(np * sizeof *g);
  pg_ppo_get_params(p, theta);
  for (size_t i = 0; i < np; i++) theta[i] += 0.3 * pg_rng_normal(&r); /* away from init */
  pg_ppo_set_params(p, theta);
  enum { N = 12 };
  double X[N * 5], lpo[N], lp[N], adv[N], ret[N], vold[N], val[N];
  int act[N * 2];
  for (size_t i = 0; i < N * 5; i++) X[i] = pg_rng_normal(&r);
  assert_int_equal(pg_ppo_act(p, X, N, 0, &r, act, lp, val), PG_OK);
  for (size_t i = 0; i < N; i++) {
    lpo[i] = lp[i] + 0.4 * pg_rng_normal(&r); /* some ratios outside [0.8, 1.2] */
    adv[i] = pg_rng_normal(&r);
    ret[i] = pg_rng_normal(&r);
    vold[i] = val[i] + 0.5 * pg_rng_normal(&r);
  }
  double L;
  assert_int_equal(pg_ppo_loss(p, X, act, lpo, adv, ret, vold, N, &L, g), PG_OK);
  const double h = 1e-6;
  size_t bad = 0;
  for (size_t i = 0; i < np; i++) {
    double s = theta[i], lpl, lmi;
    theta[i] = s + h;
    pg_ppo_set_params(p, theta);
    pg_ppo_loss(p, X, act, lpo, adv, ret, vold, N, &lpl, NULL);
    theta[i] = s - h;
    pg_ppo_set_params(p, theta);
    pg_ppo_loss(p, X, act, lpo, adv, ret, vold, N, &lmi, NULL);
    theta[i] = s;
    double fd = (lpl - lmi) / (2 * h);
    if (fabs(fd - g[i]) > 1e-6 * (1 + fabs(fd))) bad++;
  }
  pg_ppo_set_params(p, theta);
  assert_int_equal(bad, 0);
  /* an action out of range is refused */
  act[0] = 3;
  assert_int_equal(pg_ppo_loss(p, X, act, lpo, adv, ret, vold, N, &L, NULL), PG_ERANGE);
  free(theta);
  free(g);
  pg_ppo_free(p);
}

static void test_loss_gradients(void **state) {
  (void)state;
  check_loss_grad(0, 0);
  check_loss_grad(1, 0);
  check_loss_grad(0, 1);
  check_loss_grad(1, 1);
}

/* ---- test environments ---- */

/* Bandit: one step per episode; obs = [1]; reward = mean[arm] + noise.
 * With two heads the arm is the pair (a0, a1) and mean = table[a0][a1]. */
typedef struct bandit {
  size_t nheads;
  double means[16];
  size_t k1;
} bandit;

static pg_status bandit_reset(void *ctx, pg_rng *rng, double *obs) {
  (void)ctx;
  (void)rng;
  obs[0] = 1.0;
  return PG_OK;
}

static pg_status bandit_step(void *ctx, pg_rng *rng, const int *a, double *obs, double *reward,
                             int *terminal, int *truncated) {
  bandit *b = ctx;
  size_t arm = b->nheads == 1 ? (size_t)a[0] : (size_t)a[0] * b->k1 + (size_t)a[1];
  *reward = b->means[arm] + 0.3 * pg_rng_normal(rng);
  obs[0] = 1.0;
  *terminal = 1;
  *truncated = 0;
  return PG_OK;
}

static pg_env bandit_env(bandit *b, size_t nheads, const size_t *heads) {
  pg_env e = {0};
  e.obs_dim = 1;
  e.nheads = nheads;
  for (size_t h = 0; h < nheads; h++) e.head_sizes[h] = heads[h];
  e.ctx = b;
  e.reset = bandit_reset;
  e.step = bandit_step;
  return e;
}

static pg_ppo *bandit_agent(size_t nheads, const size_t *heads, int joint, uint64_t seed) {
  pg_ppo_config c;
  pg_ppo_config_default(&c);
  c.obs_dim = 1;
  c.nheads = nheads;
  for (size_t h = 0; h < nheads; h++) c.head_sizes[h] = heads[h];
  c.joint = joint;
  c.hidden[0] = c.hidden[1] = 16;
  c.n_steps = 128;
  c.batch_size = 32;
  c.n_epochs = 4;
  c.lr = 3e-3;
  c.seed = seed;
  pg_ppo *p;
  assert_int_equal(pg_ppo_new(&p, &c), PG_OK);
  return p;
}

static void test_bandit(void **state) {
  (void)state;
  size_t heads[1] = {4};
  bandit b = {1, {0.1, 0.5, 0.9, 0.3}, 0};
  pg_env env = bandit_env(&b, 1, heads);
  pg_ppo *p = bandit_agent(1, heads, 0, 3);
  pg_ppo_stats st;
  assert_int_equal(pg_ppo_learn(p, &env, 1, 128 * 15, &st), PG_OK);
  assert_int_equal(st.timesteps, 128 * 15);
  double obs = 1.0, probs[4];
  int a;
  assert_int_equal(pg_ppo_act(p, &obs, 1, 1, NULL, &a, NULL, NULL), PG_OK);
  assert_int_equal(a, 2);
  assert_int_equal(pg_ppo_probs(p, &obs, probs), PG_OK);
  assert_true(probs[2] > 0.9);
  assert_true(fabs(probs[0] + probs[1] + probs[2] + probs[3] - 1.0) < 1e-12);
  pg_ppo_free(p);
}

/* Two heads (3 x 3 arms). Additive means u[a0] + w[a1] (best pair (2, 1)):
 * factored and joint heads both find it. A coordination table whose best
 * pair (2, 1) is surrounded by zeros while the other rows pay 0.6 whatever
 * the second head does: the joint head finds it (independent heads may not,
 * which is why the joint option exists). */
static void test_factored_bandit(void **state) {
  (void)state;
  size_t heads[2] = {3, 3};
  bandit add = {2, {0.1, 0.4, 0.0, 0.3, 0.6, 0.2, 0.6, 0.9, 0.5}, 3};
  bandit trap = {2, {0.6, 0.0, 0.6, 0.6, 0.0, 0.6, 0.0, 1.0, 0.0}, 3};
  for (int k = 0; k < 3; k++) {
    int joint = k > 0;
    pg_env env = bandit_env(k == 2 ? &trap : &add, 2, heads);
    pg_ppo *p = bandit_agent(2, heads, joint, 5);
    assert_int_equal(pg_ppo_nlogits(p), joint ? 9 : 6);
    assert_int_equal(pg_ppo_learn(p, &env, 1, 128 * 15, NULL), PG_OK);
    double obs = 1.0;
    int a[2];
    assert_int_equal(pg_ppo_act(p, &obs, 1, 1, NULL, a, NULL, NULL), PG_OK);
    assert_int_equal(a[0], 2);
    assert_int_equal(a[1], 1);
    pg_ppo_free(p);
  }
}

/* Chain of 5 states, one-hot observation. Action 0 ("take") ends the
 * episode with reward 0.2; action 1 ("advance") moves right with reward 0,
 * and from the last state gives reward 1 and ends. Time limit 8 steps.
 * With gamma 0.99 the optimal policy advances everywhere (return 1, value
 * 0.99^4 = 0.96 > 0.2 at the start); a myopic policy takes 0.2. */
typedef struct chain {
  int s, t;
} chain;

static pg_status chain_obs(chain *c, double *obs) {
  for (int i = 0; i < 5; i++) obs[i] = i == c->s ? 1.0 : 0.0;
  return PG_OK;
}

static pg_status chain_reset(void *ctx, pg_rng *rng, double *obs) {
  (void)rng;
  chain *c = ctx;
  c->s = 0;
  c->t = 0;
  return chain_obs(c, obs);
}

static pg_status chain_step(void *ctx, pg_rng *rng, const int *a, double *obs, double *reward,
                            int *terminal, int *truncated) {
  (void)rng;
  chain *c = ctx;
  c->t++;
  *reward = 0.0;
  *terminal = 0;
  if (a[0] == 0) {
    *reward = 0.2;
    *terminal = 1;
  } else if (c->s == 4) {
    *reward = 1.0;
    *terminal = 1;
  } else {
    c->s++;
  }
  *truncated = !*terminal && c->t >= 8;
  return chain_obs(c, obs);
}

static void test_chain(void **state) {
  (void)state;
  size_t heads[1] = {2};
  chain cs[2];
  pg_env envs[2];
  for (int e = 0; e < 2; e++) {
    envs[e] = (pg_env){0};
    envs[e].obs_dim = 5;
    envs[e].nheads = 1;
    envs[e].head_sizes[0] = 2;
    envs[e].ctx = &cs[e];
    envs[e].reset = chain_reset;
    envs[e].step = chain_step;
  }
  pg_ppo_config c;
  pg_ppo_config_default(&c);
  c.obs_dim = 5;
  c.nheads = 1;
  c.head_sizes[0] = heads[0];
  c.hidden[0] = c.hidden[1] = 16;
  c.n_steps = 64;
  c.batch_size = 32;
  c.n_epochs = 4;
  c.lr = 3e-3;
  c.gamma = 0.99;
  c.ent_coef = 0.01;
  c.shared = 1;
  c.seed = 2;
  pg_ppo *p;
  assert_int_equal(pg_ppo_new(&p, &c), PG_OK);
  pg_ppo_stats st;
  assert_int_equal(pg_ppo_learn(p, envs, 2, 128 * 15, &st), PG_OK);
  for (int s = 0; s < 5; s++) {
    double obs[5] = {0};
    obs[s] = 1.0;
    int a;
    assert_int_equal(pg_ppo_act(p, obs, 1, 1, NULL, &a, NULL, NULL), PG_OK);
    assert_int_equal(a, 1);
  }
  /* the last training episodes are mostly optimal */
  assert_int_equal(pg_ppo_learn(p, envs, 2, 128, &st), PG_OK);
  assert_true(st.ep_return_mean > 0.8);
  assert_true(st.ep_len_mean > 4.0);
  pg_ppo_free(p);
}

static void test_determinism_and_files(void **state) {
  (void)state;
  size_t heads[1] = {4};
  bandit b = {1, {0.1, 0.5, 0.9, 0.3}, 0};
  pg_env env = bandit_env(&b, 1, heads);
  pg_ppo *p1 = bandit_agent(1, heads, 0, 11), *p2 = bandit_agent(1, heads, 0, 11),
         *p3 = bandit_agent(1, heads, 0, 12);
  assert_int_equal(pg_ppo_learn(p1, &env, 1, 512, NULL), PG_OK);
  assert_int_equal(pg_ppo_learn(p2, &env, 1, 512, NULL), PG_OK);
  assert_int_equal(pg_ppo_learn(p3, &env, 1, 512, NULL), PG_OK);
  size_t np = pg_ppo_nparams(p1);
  assert_int_equal(pg_ppo_get_params(p1, NULL), np);
  double *a = malloc(np * sizeof *a), *b2 = malloc(np * sizeof *b2), *c = malloc(np * sizeof *c);
  pg_ppo_get_params(p1, a);
  pg_ppo_get_params(p2, b2);
  pg_ppo_get_params(p3, c);
  assert_memory_equal(a, b2, np * sizeof *a);
  assert_memory_not_equal(a, c, np * sizeof *a);
  /* save / load: same parameters, same configuration */
  char path[] = "/tmp/pg_test_ppo_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(pg_ppo_save(p1, path), PG_OK);
  pg_ppo *q;
  assert_int_equal(pg_ppo_load(&q, path), PG_OK);
  assert_int_equal(pg_ppo_get_params(q, NULL), np);
  pg_ppo_get_params(q, c);
  assert_memory_equal(a, c, np * sizeof *a);
  assert_int_equal(pg_ppo_get_config(q)->n_steps, 128);
  assert_true(pg_ppo_get_config(q)->lr == 3e-3);
  /* and a loaded agent trains on */
  assert_int_equal(pg_ppo_learn(q, &env, 1, 128, NULL), PG_OK);
  pg_ppo_free(q);
  FILE *f = fopen(path, "wb");
  fputs("perigee-ppo 1\nobs_dim 3\n", f);
  fclose(f);
  assert_int_equal(pg_ppo_load(&q, path), PG_EFORMAT);
  remove(path);
  assert_int_equal(pg_ppo_load(&q, "/nonexistent/x.gz"), PG_EIO);
  free(a);
  free(b2);
  free(c);
  pg_ppo_free(p1);
  pg_ppo_free(p2);
  pg_ppo_free(p3);
}

/* The separate-network update runs its policy and value halves on two
 * threads when allowed: the parameters must not depend on the thread count
 * (with and without gradient-norm clipping, a ragged last minibatch). */
static void test_thread_count(void **state) {
  (void)state;
  size_t heads[1] = {4};
  bandit b = {1, {0.1, 0.5, 0.9, 0.3}, 0};
  pg_env env = bandit_env(&b, 1, heads);
  for (int clip = 0; clip < 2; clip++) {
    pg_ppo *q[2];
    double *par[2];
    size_t np = 0;
    for (int k = 0; k < 2; k++) {
      int prev = pg_threads_set(k + 1);
      pg_ppo_config c;
      pg_ppo_config_default(&c);
      c.obs_dim = 1;
      c.nheads = 1;
      c.head_sizes[0] = 4;
      c.n_steps = 100; /* minibatches of 32, 32, 32 and 4 */
      c.batch_size = 32;
      c.n_epochs = 3;
      c.max_grad_norm = clip ? 0.05 : 0.0;
      c.seed = 5;
      assert_int_equal(pg_ppo_new(&q[k], &c), PG_OK);
      pg_ppo_set_threads(q[k], k ? PG_PPO_THREADS_ON : PG_PPO_THREADS_OFF);
      assert_int_equal(pg_ppo_learn(q[k], &env, 1, 300, NULL), PG_OK);
      pg_threads_set(prev);
      np = pg_ppo_nparams(q[k]);
      par[k] = malloc(np * sizeof *par[k]);
      pg_ppo_get_params(q[k], par[k]);
    }
    assert_memory_equal(par[0], par[1], np * sizeof *par[0]);
    for (int k = 0; k < 2; k++) {
      free(par[k]);
      pg_ppo_free(q[k]);
    }
  }
}

static void test_config_errors(void **state) {
  (void)state;
  pg_ppo_config c;
  pg_ppo_config_default(&c);
  pg_ppo *p;
  assert_int_equal(pg_ppo_new(&p, &c), PG_EINVAL); /* no obs_dim */
  assert_non_null(pg_ppo_config_check(&c));
  c.obs_dim = 3;
  c.nheads = 1;
  c.head_sizes[0] = 2;
  assert_null(pg_ppo_config_check(&c));
  c.gamma = 1.5;
  assert_non_null(pg_ppo_config_check(&c));
  c.gamma = 0.9;
  c.nheads = 3;
  c.head_sizes[1] = 1000;
  c.head_sizes[2] = 1000;
  c.joint = 1;
  assert_non_null(pg_ppo_config_check(&c)); /* 2e6 joint actions */
  c.joint = 0;
  assert_null(pg_ppo_config_check(&c));
  /* an environment of the wrong shape is refused */
  c.nheads = 1;
  assert_int_equal(pg_ppo_new(&p, &c), PG_OK);
  size_t heads[1] = {4};
  bandit b = {1, {0, 0, 0, 0}, 0};
  pg_env env = bandit_env(&b, 1, heads);
  assert_int_equal(pg_ppo_learn(p, &env, 1, 10, NULL), PG_ESHAPE);
  pg_ppo_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_categorical),  cmocka_unit_test(test_gae),
      cmocka_unit_test(test_surrogate),    cmocka_unit_test(test_loss_gradients),
      cmocka_unit_test(test_bandit),       cmocka_unit_test(test_factored_bandit),
      cmocka_unit_test(test_chain),        cmocka_unit_test(test_determinism_and_files),
      cmocka_unit_test(test_config_errors),   cmocka_unit_test(test_thread_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
