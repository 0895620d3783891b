/* rmeval's CPU attention kernel for packed scoring batches (float32, one thread per call).
 *
 * A packed row holds several texts; each segment is a span of queries lo:hi that attends to every key of its
 * shared prompt prefix p_lo:p_hi and causally to its own span (rmeval.rms.packed). Computed here per segment and
 * head, without building masks or concatenating keys:
 *   - only the keys a query block can see are multiplied (causal skipping at 8-row granularity);
 *   - scores are exact dot products over the head dimension, then an exact-max softmax (exp by a degree-6
 *     polynomial, relative error < 2e-7) and the weighted sum of values;
 *   - grouped-query heads read their key/value head directly (no repeated copies).
 * Built once per machine by rmeval.cpu_kernels with the system C compiler (-O3 -march=native); GCC/Clang
 * vector extensions give AVX-512, AVX2 or SSE code from the same source.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

#ifndef R
#define R 12
#endif
/* R: query rows per block (12: measured best on AVX-512, 32 vector registers) */

static inline v16 splat(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
static inline v16 loadu(const float *p) { return *(const v16u *)p; }
static inline void storeu(float *p, v16 x) { *(v16u *)p = x; }

/* e^x for x <= 0 (x >= -87 after clamping; smaller values give ~1e-38, negligible against the row max's 1) */
static inline v16 vexp(v16 x) {
    const v16 lo = splat(-87.0f);
    v16i below = x < lo;
    x = (v16)(((v16i)x & ~below) | ((v16i)lo & below));
    const v16 magic = splat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer kept in the low bits */
    v16 t = x * splat(1.44269504088896341f) + magic;
    v16i n = (v16i)t - (v16i)magic;
    v16 nf = t - magic;
    v16 r = x - nf * splat(0.693359375f) - nf * splat(-2.12194440e-4f);
    v16 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * r * r + r + splat(1.0f);
    return (v16)((v16i)p + (n << 23));
}

static inline float hmax(v16 x) {
    float m = x[0];
    for (int i = 1; i < 16; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static inline float hsum(v16 x) {
    float s = 0.0f;
    for (int i = 0; i < 16; i++) s += x[i];
    return s;
}

/* One (segment, head). Pointers are already offset to the head; *_ts are token strides in floats. */
static void head_attention(int D, const float *q, long q_ts, const float *k, long k_ts, const float *v, long v_ts,
                           float *out, long o_ts, long lo, long hi, long p_lo, long p_hi, long q_from, int causal,
                           float scale, float *buf, long nk16_max) {
    const long np = p_hi - p_lo, ns = hi - lo, nk = np + ns;
    const long nk16 = (nk + 15) & ~15L;
    float *kt = buf;                       /* D x nk16: keys transposed, zero-padded */
    float *vb = kt + (long)D * nk16_max;   /* nk16 x D: values, rows contiguous */
    float *s = vb + nk16_max * (long)D;    /* R x nk16: scores, then probabilities */
    float *qs = s + (long)R * nk16_max;    /* R x D: scaled queries */
    for (long j = 0; j < nk; j++) {
        const long pos = j < np ? p_lo + j : lo + (j - np);
        const float *kr = k + pos * k_ts, *vr = v + pos * v_ts;
        for (int d = 0; d < D; d++) kt[(long)d * nk16 + j] = kr[d];
        memcpy(vb + j * D, vr, sizeof(float) * D);
    }
    for (int d = 0; d < D; d++)
        for (long j = nk; j < nk16; j++) kt[(long)d * nk16 + j] = 0.0f;

    for (long i0 = q_from; i0 < hi; i0 += R) {
        const int nr = (int)(hi - i0 < R ? hi - i0 : R);
        const long need = causal ? np + (i0 + nr - 1 - lo) + 1 : nk; /* keys any row of the block sees */
        const long nb = (need + 15) >> 4;
        for (int r = 0; r < R; r++)
            for (int d = 0; d < D; d++) qs[r * D + d] = r < nr ? q[(i0 + r) * q_ts + d] * scale : 0.0f;
        /* scores: S[r, j] = q_r . k_j */
        for (long b = 0; b < nb; b++) {
            v16 acc[R];
            for (int r = 0; r < R; r++) acc[r] = splat(0.0f);
            const float *kc = kt + b * 16;
            for (int d = 0; d < D; d++) {
                const v16 kv = *(const v16 *)(kc + (long)d * nk16);
                for (int r = 0; r < R; r++) acc[r] += splat(qs[r * D + d]) * kv;
            }
            for (int r = 0; r < R; r++) *(v16 *)(s + (long)r * nk16 + b * 16) = acc[r];
        }
        /* softmax per row over the keys it sees; unseen keys of the block get probability 0 */
        float inv[R];
        const v16i lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        for (int r = 0; r < R; r++) {
            float *sr = s + (long)r * nk16;
            if (r >= nr) {
                for (long b = 0; b < nb; b++) *(v16 *)(sr + b * 16) = splat(0.0f);
                inv[r] = 0.0f;
                continue;
            }
            const long valid = causal ? np + (i0 + r - lo) + 1 : nk;
            v16 mv = splat(-3.0e38f);
            for (long b = 0; b < nb; b++) {
                v16i ok = (lane + (int32_t)(b * 16)) < (int32_t)valid;
                v16 x = *(v16 *)(sr + b * 16);
                x = (v16)(((v16i)x & ok) | ((v16i)splat(-3.0e38f) & ~ok));
                v16i gt = x > mv;
                mv = (v16)(((v16i)x & gt) | ((v16i)mv & ~gt));
            }
            const v16 m = splat(hmax(mv));
            v16 sum = splat(0.0f);
            for (long b = 0; b < nb; b++) {
                v16i ok = (lane + (int32_t)(b * 16)) < (int32_t)valid;
                v16 e = vexp(*(v16 *)(sr + b * 16) - m);
                e = (v16)((v16i)e & ok);
                *(v16 *)(sr + b * 16) = e;
                sum += e;
            }
            inv[r] = 1.0f / hsum(sum);
        }
        /* out_r = sum_j P[r, j] v_j / sum_r */
        if (D % 16 == 0) {
            for (int c0 = 0; c0 < D; c0 += 32) {
                const int two = c0 + 16 < D;
                v16 a0[R], a1[R];
                for (int r = 0; r < R; r++) { a0[r] = splat(0.0f); a1[r] = splat(0.0f); }
                for (long j = 0; j < need; j++) {
                    const v16 x0 = loadu(vb + j * D + c0);
                    const v16 x1 = two ? loadu(vb + j * D + c0 + 16) : splat(0.0f);
                    for (int r = 0; r < R; r++) {
                        const v16 p = splat(s[(long)r * nk16 + j]);
                        a0[r] += p * x0;
                        a1[r] += p * x1;
                    }
                }
                for (int r = 0; r < nr; r++) {
                    storeu(out + (i0 + r) * o_ts + c0, a0[r] * splat(inv[r]));
                    if (two) storeu(out + (i0 + r) * o_ts + c0 + 16, a1[r] * splat(inv[r]));
                }
            }
        } else if (D % 8 == 0) {
            for (int c0 = 0; c0 < D; c0 += 8) {
                v8 a[R];
                for (int r = 0; r < R; r++) a[r] = (v8){0, 0, 0, 0, 0, 0, 0, 0};
                for (long j = 0; j < need; j++) {
                    const v8 x = *(const v8u *)(vb + j * D + c0);
                    for (int r = 0; r < R; r++) {
                        const float p = s[(long)r * nk16 + j];
                        a[r] += (v8){p, p, p, p, p, p, p, p} * x;
                    }
                }
                for (int r = 0; r < nr; r++) {
                    const float w = inv[r];
                    *(v8u *)(out + (i0 + r) * o_ts + c0) = a[r] * (v8){w, w, w, w, w, w, w, w};
                }
            }
        } else {
            for (int r = 0; r < nr; r++) {
                float *o = out + (i0 + r) * o_ts;
                for (int d = 0; d < D; d++) o[d] = 0.0f;
                const float *pr = s + (long)r * nk16;
                for (long j = 0; j < need; j++) {
                    const float p = pr[j];
                    const float *x = vb + j * D;
                    for (int d = 0; d < D; d++) o[d] += p * x[d];
                }
                for (int d = 0; d < D; d++) o[d] *= inv[r];
            }
        }
    }
}

/* Attention of every segment and head of one packed row. seg: n_seg rows of (lo, hi, p_lo, p_hi, q_from).
 * q: (T, H, D) with token stride q_ts and head stride q_hs (floats; the head dimension contiguous), k and v the
 * same with Hkv heads, out: (T, H, D) with token stride o_ts and head stride o_hs. Rows of out that no segment
 * computes are left as they are. Returns 0, or -1 when memory runs out. */
int rmeval_attention(const float *q, long q_ts, long q_hs, const float *k, long k_ts, long k_hs, const float *v,
                     long v_ts, long v_hs, float *out, long o_ts, long o_hs, int H, int Hkv, int D, float scale,
                     int causal, const int64_t *seg, long n_seg) {
    long nk_max = 16;
    for (long i = 0; i < n_seg; i++) {
        const long nk = (seg[i * 5 + 1] - seg[i * 5]) + (seg[i * 5 + 3] - seg[i * 5 + 2]);
        if (nk > nk_max) nk_max = nk;
    }
    const long nk16_max = (nk_max + 15) & ~15L;
    const size_t floats = (size_t)D * nk16_max * 2 + (size_t)R * nk16_max + (size_t)R * D + 16;
    float *buf = aligned_alloc(64, ((floats * sizeof(float)) + 63) & ~(size_t)63);
    if (!buf) return -1;
    const int rep = H / Hkv;
    for (long i = 0; i < n_seg; i++) {
        const int64_t *sg = seg + i * 5;
        if (sg[4] >= sg[1]) continue;
        for (int h = 0; h < H; h++) {
            const int hk = h / rep;
            head_attention(D, q + h * q_hs, q_ts, k + hk * k_hs, k_ts, v + hk * v_hs, v_ts, out + h * o_hs, o_ts,
                           sg[0], sg[1], sg[2], sg[3], sg[4], causal, scale, buf, nk16_max);
        }
    }
    free(buf);
    return 0;
}

/* out[r] = w * x[r] / sqrt(mean(x[r]^2) + eps) for rows r of length dim (contiguous rows). */
void rmeval_rms_norm(const float *x, const float *w, float *out, long rows, long dim, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *orow = out + r * dim;
        v16 acc = splat(0.0f);
        long i = 0;
        for (; i + 16 <= dim; i += 16) {
            const v16 v = loadu(xr + i);
            acc += v * v;
        }
        float ss = hsum(acc);
        for (; i < dim; i++) ss += xr[i] * xr[i];
        const float inv = 1.0f / __builtin_sqrtf(ss / (float)dim + eps);
        const v16 s = splat(inv);
        i = 0;
        for (; i + 16 <= dim; i += 16) storeu(orow + i, loadu(w + i) * (loadu(xr + i) * s));
        for (; i < dim; i++) orow[i] = w[i] * (xr[i] * inv);
    }
}
