/* bench_ppo.c -- environment steps per second of the Sim-is-More NAS-Bench-201
 * environment alone and with PPO training (rollouts + updates), for the
 * settings of the public code (stable-baselines3 defaults: rollout 2048,
 * minibatch 64, 10 epochs, 64x64 tanh, separate policy/value networks).
 *
 *   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 build/bench/bench_ppo [steps [setting
 *   [threads]]]   (setting 0..5 or -1 for all; threads 0 auto, 1 off, 2 on: the update of
 *   separate networks on two threads)
 *
 * The proxy values do not change the cost of a step, so the benchmark uses a
 * deterministic stand-in for them and the 18-device pool statistics of
 * simismore.md (no data files needed). Target: >= 20,000 steps/s with PPO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nasenv.h"
#include "ppo.h"

static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the 18 devices' per-op latencies (ms), simismore.md section 4.4 */
static const double POOL[18][5] = {
    {0.1171, 0.7391, 1.135, 1.582, 1.542},  {0.002575, 0.5563, 3.187, 3.475, 13.99},
    {0.001282, 0.2569, 1.884, 0.8787, 5.774}, {0.2523, 0.2523, 1.579, 0.4735, 1.579},
    {0.17, 0.17, 0.5387, 0.6347, 1.388},    {0.9109, 0.8019, 1.461, 3.821, 8.013},
    {0.7374, 0.5707, 1.025, 1.882, 3.758},  {0.9206, 0.5994, 0.9425, 2.665, 2.746},
    {0.6664, 0.4469, 0.7307, 2.143, 2.049}, {0.6667, 0.5, 1.667, 3.167, 5.5},
    {1.333, 1, 2.167, 6.333, 9},            {1.167, 0.8333, 2, 3.667, 12.33},
    {0.6415, 0.4143, 0.6043, 1.702, 1.726}, {0.7972, 0.5427, 0.8755, 2.484, 2.542},
    {0.7977, 0.6472, 1.171, 2.61, 5.639},   {0.5965, 0.4441, 0.8079, 2.843, 3.035},
    {0.8712, 0.6451, 0.9214, 2.675, 2.621}, {1, 0.6667, 1.667, 3.667, 6.667}};

static int threads_mode = PG_PPO_THREADS_AUTO;

static void run_ppo(pg_nas_data *data, size_t n_envs, int shared, pg_mlp_act act, size_t epochs,
                    size_t batch, unsigned long steps) {
  pg_nasenv **envs = calloc(n_envs, sizeof *envs);
  pg_env *views = calloc(n_envs, sizeof *views);
  for (size_t i = 0; i < n_envs; i++) {
    pg_nasenv_new(&envs[i], data, NULL);
    views[i] = pg_nasenv_as_env(envs[i]);
  }
  pg_ppo_config c;
  pg_ppo_config_default(&c);
  c.obs_dim = PG_NAS_OBS_DIM;
  c.nheads = 2;
  c.head_sizes[0] = 6;
  c.head_sizes[1] = 5;
  c.gamma = 0.6;
  c.shared = shared;
  c.act = act;
  c.n_epochs = epochs;
  c.batch_size = batch;
  c.n_steps = 2048 / n_envs;
  c.seed = 777;
  pg_ppo *p;
  if (pg_ppo_new(&p, &c) != PG_OK) {
    fprintf(stderr, "pg_ppo_new failed\n");
    exit(1);
  }
  pg_ppo_set_threads(p, threads_mode);
  pg_ppo_stats st;
  double t0 = now(), c0 = cpu();
  pg_status s = pg_ppo_learn(p, views, n_envs, steps, &st);
  double dt = now() - t0, dc = cpu() - c0;
  if (s != PG_OK) {
    fprintf(stderr, "learn failed: %s\n", pg_strerror(s));
    exit(1);
  }
  /* checksum of the trained parameters: optimisations that keep the
     arithmetic print the same value */
  size_t np = pg_ppo_get_params(p, NULL);
  double *par = malloc(np * sizeof *par), sum = 0.0;
  pg_ppo_get_params(p, par);
  for (size_t i = 0; i < np; i++) sum += par[i] * (double)(i % 7 + 1);
  free(par);
  printf("env + PPO  envs=%-2zu %-8s %-4s epochs=%-2zu batch=%-3zu thr=%s %7llu steps %6.2f s "
         "%8.0f steps/s wall %8.0f steps/s cpu (mean return %.2f, params %.17g)\n",
         n_envs, shared ? "shared" : "separate", act == PG_MLP_TANH ? "tanh" : "relu", epochs, batch,
         threads_mode == PG_PPO_THREADS_ON ? "on" : threads_mode == PG_PPO_THREADS_OFF ? "off" : "auto",
         (unsigned long long)st.timesteps, dt,
         (double)st.timesteps / dt, (double)st.timesteps / dc, st.ep_return_mean, sum);
  pg_ppo_free(p);
  for (size_t i = 0; i < n_envs; i++) pg_nasenv_free(envs[i]);
  free(envs);
  free(views);
}

int main(int argc, char **argv) {
  unsigned long steps = argc > 1 ? strtoul(argv[1], NULL, 10) : 40960;
  int only = argc > 2 ? atoi(argv[2]) : -1; /* run one PPO setting (0..5) */
  /* update threads: 0 auto (two with a core to spare), 1 off, 2 on */
  int given = argc > 3;
  threads_mode = given ? atoi(argv[3]) : PG_PPO_THREADS_AUTO;
  double *tf = malloc(PG_NAS_CELLS * sizeof *tf);
  for (int i = 0; i < PG_NAS_CELLS; i++) tf[i] = (double)((i * 7919) % 1000) / 1000.0;
  pg_nas_data *data;
  if (pg_nas_data_new(&data, tf, &POOL[0][0], 18) != PG_OK) return 1;
  free(tf);

  /* environment alone, random actions */
  pg_nasenv *e;
  pg_nasenv_new(&e, data, NULL);
  pg_rng r;
  pg_rng_seed(&r, 1);
  double obs[PG_NAS_OBS_DIM], rew, acc = 0;
  pg_nasenv_reset(e, &r, -1, obs);
  const unsigned long n = 2000000;
  double t0 = now();
  for (unsigned long i = 0; i < n; i++) {
    int a[2] = {(int)pg_rng_below(&r, 6), (int)pg_rng_below(&r, 5)}, term, trunc;
    pg_nasenv_step(e, a, obs, &rew, &term, &trunc);
    acc += rew;
    if (term || trunc) pg_nasenv_reset(e, &r, -1, obs);
  }
  double dt = now() - t0;
  printf("env alone  random actions    %8lu steps %7.2f s  %9.0f steps/s  (checksum %.3f)\n", n,
         dt, (double)n / dt, acc / (double)n);
  pg_nasenv_free(e);

  /* the public code's settings (stable-baselines3 defaults), then cheaper
     networks: a shared trunk, ReLU */
  static const struct {
    size_t envs;
    int shared;
    pg_mlp_act act;
    size_t epochs, batch;
  } settings[] = {{1, 0, PG_MLP_TANH, 10, 64},  {8, 0, PG_MLP_TANH, 10, 64},
                  {8, 1, PG_MLP_TANH, 10, 64},  {8, 1, PG_MLP_RELU, 10, 64},
                  /* fewer, larger minibatches: the throughput settings */
                  {8, 1, PG_MLP_RELU, 10, 256}, {8, 1, PG_MLP_RELU, 4, 256}};
  for (int i = 0; i < 6; i++) {
    if (only >= 0 && only != i) continue;
    /* separate networks without a threads argument: one thread, then two, side by side */
    int modes[2] = {PG_PPO_THREADS_OFF, PG_PPO_THREADS_ON}, nm = !given && !settings[i].shared ? 2 : 1;
    for (int k = 0; k < nm; k++) {
      if (nm == 2) threads_mode = modes[k];
      run_ppo(data, settings[i].envs, settings[i].shared, settings[i].act, settings[i].epochs,
              settings[i].batch, steps);
    }
    if (!given) threads_mode = PG_PPO_THREADS_AUTO;
  }
  pg_nas_data_free(data);
  return 0;
}
