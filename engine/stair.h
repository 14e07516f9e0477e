/*
 * stair.h -- a 2-D "staircase": a balanced search tree (treap) of points
 * (x, y) ordered lexicographically, used as the sweep structure of the 3-D
 * algorithms in pareto.c and hv.c (private to the engine; no stable API).
 *
 * The sweeps keep a set of mutually non-dominated points (x increasing, y
 * decreasing); the tree answers "is (a, b) weakly dominated" in O(log n)
 * and inserts a point while deleting the ones it dominates, the structure
 * of Beume, Fonseca, Lopez-Ibanez, Paquete and Vahrenhold, "On the
 * complexity of computing the hypervolume indicator", IEEE TEVC 13(5),
 * 2009, and of the 3-D dimension sweep of Kung, Luccio and Preparata,
 * JACM 22(4), 1975.
 *
 * Several staircases can share one node pool (one per front in the 3-D
 * non-dominated sort): a staircase is just a root index.
 */
#ifndef PG_STAIR_H
#define PG_STAIR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct pg_stair_node {
  double x, y;
  int32_t l, r;
  uint32_t pri;
} pg_stair_node;

typedef struct pg_stair_pool {
  pg_stair_node *node;
  int32_t cap, used, freelist;
  uint32_t seed;
} pg_stair_pool;

/* Pool for at most cap live nodes. */
pg_status pg_stair_init(pg_stair_pool *p, size_t cap);
void pg_stair_free(pg_stair_pool *p);

/* Largest node (lexicographically) with x <= a, or -1. In a staircase that
 * is the point with the smallest y among those with x <= a. */
int32_t pg_stair_floor(const pg_stair_pool *p, int32_t root, double a);
/* Smallest node with (x, y) > (a, b) lexicographically, or -1. */
int32_t pg_stair_succ(const pg_stair_pool *p, int32_t root, double a, double b);

/* 1 when some point of the staircase has x <= a and y <= b. */
int pg_stair_dominated(const pg_stair_pool *p, int32_t root, double a, double b);

/* Insert (a, b) into the staircase *root and delete every point with
 * x >= a and y >= b (those it weakly dominates). When area is non-NULL,
 * adds to *area the area newly dominated inside [.., rx] x [.., ry]
 * (the caller guarantees (a, b) is not weakly dominated and a < rx, b < ry). */
void pg_stair_insert(pg_stair_pool *p, int32_t *root, double a, double b, double rx, double ry,
                     double *area);

/* The 2-D staircase of the k points B (x, y pairs) strictly below ref, as a
 * sorted array: written to st (room for 2 k doubles), x increasing and y
 * strictly decreasing, dominated points and duplicates dropped; returns its
 * size. Used by the 2-D (expected) hypervolume-improvement routines. */
size_t pg_stair_2d(const double *B, size_t k, const double *ref, double *st);

#endif
