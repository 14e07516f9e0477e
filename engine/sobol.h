/*
 * sobol.h -- Sobol' low-discrepancy sequences in base 2, up to PG_SOBOL_MAXDIM
 * dimensions and 2^32 points, with optional random digital shift.
 *
 * References: I. M. Sobol', "On the distribution of points in a cube and the
 * approximate evaluation of integrals", USSR Comput. Math. Math. Phys. 7(4),
 * 1967; P. Bratley and B. L. Fox, "Algorithm 659", ACM TOMS 14(1), 1988
 * (Gray-code generation); S. Joe and F. Y. Kuo, "Constructing Sobol sequences
 * with better two-dimensional projections", SIAM J. Sci. Comput. 30(5), 2008
 * (the ordering of primitive polynomials by degree).
 *
 * No table is shipped. The primitive polynomials over GF(2) are computed:
 * polynomials of each degree s are enumerated in increasing order of their
 * middle coefficients (Joe-Kuo's "a" value) and kept when x has
 * multiplicative order exactly 2^s - 1 modulo the polynomial (which also
 * proves irreducibility). Dimension 1 is the van der Corput sequence,
 * dimension 2 uses x + 1 with m_1 = 1 (so the first two dimensions form a
 * (0, m, 2)-net in base 2 for every m), and dimension j >= 3 uses the
 * (j-1)-th primitive polynomial with initial direction numbers m_k (odd,
 * below 2^k) drawn by the documented deterministic rule
 *   m_k = 1 + 2 * (splitmix64(0x50b01 * 2^20 + 64 * j + k) mod 2^(k-1)).
 * These are NOT the published Joe-Kuo direction numbers; the sequences are
 * valid Sobol' sequences (every dimension is a (0,1)-sequence) but their
 * higher-dimensional projections may be of different quality.
 *
 * Scrambling is a random digital shift: every coordinate's 32-bit integer is
 * XORed with a per-dimension random word. It keeps the (t, m, s)-net
 * properties of the unscrambled sequence.
 */
#ifndef PG_SOBOL_H
#define PG_SOBOL_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "status.h"

#define PG_SOBOL_MAXDIM 1024
#define PG_SOBOL_BITS 32

typedef struct pg_sobol pg_sobol;

/* New generator of dimension d (1..PG_SOBOL_MAXDIM), at index 0 (the first
 * point is the origin, or the shift when scrambled). *out is NULL on error. */
pg_status pg_sobol_new(size_t d, pg_sobol **out);
/* Free; NULL is a no-op. */
void pg_sobol_free(pg_sobol *s);
/* Draw a random digital shift from rng (one 32-bit word per dimension). */
void pg_sobol_scramble(pg_sobol *s, pg_rng *rng);
/* Jump to point number `index` (0-based); PG_ERANGE past 2^32. */
pg_status pg_sobol_seek(pg_sobol *s, uint64_t index);
/* The next n points, row-major out[n*d] in [0, 1). PG_ERANGE when the
 * sequence would run past 2^32 points. */
pg_status pg_sobol_next(pg_sobol *s, size_t n, double *out);
size_t pg_sobol_dim(const pg_sobol *s);

/* The degree and coefficient bits (bit i = coefficient of x^i, both x^s and
 * 1 included) of the k-th primitive polynomial (k >= 0, in the order above).
 * For tests. */
pg_status pg_sobol_polynomial(size_t k, unsigned *degree, uint64_t *poly);

#endif
