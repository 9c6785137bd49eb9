/*
 * Element-wise kernels of the fast MNIST training step (improved_gan.training.steps.fast).
 *
 * Plain C99 without libm or fast-math: the compiler vectorises the loops with
 * whatever `-march=native` offers (AVX-512, AVX2, NEON), and a result does not
 * depend on the C library. Tensors are float32 or bfloat16 (a flag per
 * argument, `*_bf16`), row-major [rows, units]; float32 for every value that
 * is kept or reduced. The Python side (ops.py) holds the PyTorch
 * expression each kernel computes; the tests compare the two.
 *
 * Work is split between PyTorch's OpenMP threads (see "threads" below); no
 * result depends on the split.
 */

#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ==== threads ===============================================================
 * Built with -fopenmp, the kernels share PyTorch's OpenMP threads (the same
 * libgomp, so torch.set_num_threads applies and no second pool competes for the
 * cores); without it, they run on the calling thread. Work is cut into
 * independent items (noise tiles, blocks of units, rows), none of whose results
 * depends on the cut.
 */

#define UNIT_BLOCK 64      /* units per work item of the unit-wise kernels */
#define PARALLEL_MIN 16384 /* fewer values than this: one thread */

/* this thread's share [*begin, *end) of `items` work items, inside a parallel region */
static inline void share(int64_t items, int64_t *begin, int64_t *end)
{
#ifdef _OPENMP
    int64_t thread = omp_get_thread_num(), threads = omp_get_num_threads();
#else
    int64_t thread = 0, threads = 1;
#endif
    *begin = items * thread / threads;
    *end = items * (thread + 1) / threads;
}

/* ==== float32 and bfloat16 ================================================= */

/* round to nearest even; NaN stays NaN */
static inline uint16_t to_bf16(float x)
{
    union { float f; uint32_t i; } bits = { x };
    uint32_t rounded = bits.i + 0x7FFFu + ((bits.i >> 16) & 1u);
    uint32_t is_nan = (bits.i & 0x7FFFFFFFu) > 0x7F800000u;
    return (uint16_t)(is_nan ? (bits.i >> 16) | 0x40u : rounded >> 16);
}

static inline float from_bf16(uint16_t x)
{
    union { uint32_t i; float f; } bits = { (uint32_t)x << 16 };
    return bits.f;
}

/* Row segments are staged through float32 buffers of at most SEGMENT values, so
 * that every loop works on one element type and vectorises. */
#define SEGMENT 256

/* buf[0..n) = float32 of x[start .. start + n) */
static inline void load_segment(const void *x, int bf16, int64_t start, int64_t n, float *buf)
{
    if (bf16) {
        const uint16_t *xs = (const uint16_t *)x + start;
        for (int64_t i = 0; i < n; ++i)
            buf[i] = from_bf16(xs[i]);
    } else {
        memcpy(buf, (const float *)x + start, (size_t)n * sizeof(float));
    }
}

/* x[start .. start + n) = buf[0..n), rounded to bfloat16 where x is */
static inline void store_segment(void *x, int bf16, int64_t start, int64_t n, const float *buf)
{
    if (bf16) {
        uint16_t *xs = (uint16_t *)x + start;
        for (int64_t i = 0; i < n; ++i)
            xs[i] = to_bf16(buf[i]);
    } else {
        memcpy((float *)x + start, buf, (size_t)n * sizeof(float));
    }
}

/* ==== elementary functions (float32, vectorisable) ============================ */

/* e^x for x <= 0 (0 below -87): x = k ln 2 + r, |r| <= ln(2)/2, Taylor to r^7; < 2 ulp */
static inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    float k = __builtin_rintf(x * 1.4426950408889634f);
    float r = (x - k * 0.693145751953125f) - k * 1.4286067653301870e-06f;  /* ln 2 = hi + lo */
    float p = 1.0f + r * (1.0f + r * 0.5f * (1.0f + r * (1.0f / 3) * (1.0f + r * 0.25f * (1.0f + r * 0.2f *
              (1.0f + r * (1.0f / 6) * (1.0f + r * (1.0f / 7)))))));
    union { uint32_t i; float f; } two_k = { (uint32_t)((int32_t)k + 127) << 23 };
    return p * two_k.f;
}

/* ln(1 + t) for t in [0, 1]: 2 atanh(s), s = t / (2 + t) <= 1/3, series to s^15; relative error < 2 ulp */
static inline float log1p_unit(float t)
{
    float s = t / (2.0f + t), s2 = s * s;
    float series = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9 + s2 *
                   (1.0f / 11 + s2 * (1.0f / 13 + s2 * (1.0f / 15)))))));
    return 2.0f * s * series;
}

/* ln(u) for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)) */
static inline float log_unit(float u)
{
    union { float f; uint32_t i; } bits = { u };
    int32_t exponent = (int32_t)((bits.i >> 23) & 0xFF) - 126;
    bits.i = (bits.i & 0x007FFFFFu) | 0x3F000000u;                /* m in [1/2, 1) */
    float m = bits.f;
    int small = m < 0.70710678f;
    m = small ? m * 2.0f : m;
    exponent = small ? exponent - 1 : exponent;
    float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;                /* |t| <= 0.172 */
    float series = 1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9 + t2 * (1.0f / 11)))));
    return 2.0f * t * series + (float)exponent * 0.69314718055994531f;
}

/* ==== Gaussian noise ===========================================================
 *
 * Counter-based: element e of a draw with key k and stream s is a pure function
 * of (k, s, e), so a draw is reproduced from its key and does not depend on how
 * it is split between threads.
 *
 *   bits:    Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy
 *            as 1, 2, 3", SC 2011), counter (block, stream), 64-bit key;
 *            one block gives four 32-bit words.
 *   normals: Box-Muller: words (w0, w1) give r = sqrt(-2 ln u) with
 *            u = (w0 + 1/2) / 2^32 in (0, 1], the angle 2 pi w1 / 2^32,
 *            and the pair (r cos, r sin); likewise (w2, w3).
 *
 * Layout: elements are cut into chunks of 64; word j of block 16c + i is
 * element 64c + 16j + i, so that the loop over i vectorises and every store is
 * contiguous.
 */

#define CHUNK 64
#define BLOCKS_PER_CHUNK 16
#define TILE 2048  /* elements whose noise is drawn before it is used */

static inline void philox4x32_10(uint64_t block, uint32_t stream, uint64_t key, uint32_t w[4])
{
    /* 32-bit values held in 64-bit variables: each multiply is then one 32 x 32 -> 64-bit
     * vector lane operation (vpmuludq), with no shuffling of halves; a third faster */
    uint64_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = stream, c3 = 0;
    uint64_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = 0xD2511F53u * c0, p1 = 0xCD9E8D57u * c2;
        uint64_t n0 = (p1 >> 32) ^ c1 ^ k0, n2 = (p0 >> 32) ^ c3 ^ k1;
        c0 = n0; c1 = p1 & 0xFFFFFFFFu; c2 = n2; c3 = p0 & 0xFFFFFFFFu;
        k0 = (k0 + 0x9E3779B9u) & 0xFFFFFFFFu; k1 = (k1 + 0xBB67AE85u) & 0xFFFFFFFFu;
    }
    w[0] = (uint32_t)c0; w[1] = (uint32_t)c1; w[2] = (uint32_t)c2; w[3] = (uint32_t)c3;
}

/* sqrt(-2 ln u), u = (w + 1/2) / 2^32 */
static inline float box_muller_radius(uint32_t w)
{
    float u = (float)w * 2.3283064365386963e-10f + 1.1641532182693481e-10f;  /* (0, 1] */
    float r2 = -2.0f * log_unit(u);
    return __builtin_sqrtf(r2 > 0.0f ? r2 : 0.0f);                           /* u = 1 gives -0 */
}

/* (cos, sin) of 2 pi w / 2^32: the quadrant from the top two bits, Taylor series on [-pi/4, pi/4) */
static inline void turn_cos_sin(uint32_t w, float *c, float *s)
{
    uint32_t quadrant = w >> 30;
    float x = ((float)(w & 0x3FFFFFFFu) * 9.3132257461547852e-10f - 0.5f) * 1.5707963267948966f;
    float x2 = x * x;
    float sin_x = x * (1.0f - x2 / 6 * (1.0f - x2 / 20 * (1.0f - x2 / 42 * (1.0f - x2 / 72 * (1.0f - x2 / 110)))));
    float cos_x = 1.0f - x2 / 2 * (1.0f - x2 / 12 * (1.0f - x2 / 30 * (1.0f - x2 / 56 * (1.0f - x2 / 90 * (1.0f - x2 / 132)))));
    const float half_sqrt2 = 0.70710678118654752f;                 /* angle = quadrant pi/2 + pi/4 + x */
    float c0 = half_sqrt2 * (cos_x - sin_x), s0 = half_sqrt2 * (cos_x + sin_x);
    *c = quadrant == 0 ? c0 : quadrant == 1 ? -s0 : quadrant == 2 ? -c0 : s0;
    *s = quadrant == 0 ? s0 : quadrant == 1 ? c0 : quadrant == 2 ? -s0 : -c0;
}

/* the 64 standard normals of chunk `chunk`, in element order */
static inline void normal_chunk(uint64_t chunk, uint32_t stream, uint64_t key, float out[CHUNK])
{
    for (int i = 0; i < BLOCKS_PER_CHUNK; ++i) {
        uint32_t w[4];
        philox4x32_10(chunk * BLOCKS_PER_CHUNK + (uint64_t)i, stream, key, w);
        float r0 = box_muller_radius(w[0]), r1 = box_muller_radius(w[2]);
        float c0, s0, c1, s1;
        turn_cos_sin(w[1], &c0, &s0);
        turn_cos_sin(w[3], &c1, &s1);
        out[i] = r0 * c0;
        out[16 + i] = r0 * s0;
        out[32 + i] = r1 * c1;
        out[48 + i] = r1 * s1;
    }
}

/* the normals of elements [start, end) (start a multiple of CHUNK, end - start <= TILE) */
static inline void normal_tile(int64_t start, int64_t end, uint32_t stream, uint64_t key, float *z)
{
    for (int64_t e = start; e < end; e += CHUNK)
        normal_chunk((uint64_t)(e / CHUNK), stream, key, z + (e - start));
}

static inline int64_t tiles_of(int64_t n) { return (n + TILE - 1) / TILE; }

/* out = x + std * noise (the discriminator's input noise); std = 0: a copy (and a cast) */
void igan_add_noise(const float *x, int64_t n, void *out, int out_bf16, float std, uint64_t key, uint32_t stream)
{
    #pragma omp parallel if (n >= PARALLEL_MIN)
    {
        int64_t first, last;
        float z[TILE];
        share(tiles_of(n), &first, &last);
        for (int64_t tile = first * TILE; tile < min64(last * TILE, n); tile += TILE) {
            int64_t count = min64(tile + TILE, n) - tile;
            if (std != 0.0f) {
                normal_tile(tile, tile + count, stream, key, z);
                for (int64_t i = 0; i < count; ++i)
                    z[i] = x[tile + i] + std * z[i];
            } else {
                memcpy(z, x + tile, (size_t)count * sizeof(float));
            }
            store_segment(out, out_bf16, tile, count, z);
        }
    }
}

/* ==== the discriminator's dense layers ========================================== */

/*
 * Forward epilogue of a weight-normalised ReLU layer followed by Gaussian noise:
 *   h = max(p * scale + bias, 0)     float32 [rows, units], kept for the backward pass
 *   a = h + std * noise              the next layer's input (noise element e = row * units + unit)
 * std = 0 draws no noise; a = NULL computes h only. Work items: tiles of TILE elements.
 */
static void scale_bias_relu_noise_tiles(
    const void *p, int p_bf16, const float *scale, const float *bias, int64_t rows, int64_t units,
    float *h, void *a, int a_bf16, float std, uint64_t key, uint32_t stream, int64_t first, int64_t last)
{
    const int64_t end = min64(last * TILE, rows * units);
    const int noisy = a != NULL && std != 0.0f;
    float z[TILE], buf[SEGMENT];
    for (int64_t tile = first * TILE; tile < end; tile += TILE) {
        int64_t tile_end = min64(tile + TILE, end);
        if (noisy)
            normal_tile(tile, tile_end, stream, key, z);
        /* segments of one row (contiguous units), at most SEGMENT long */
        for (int64_t e = tile; e < tile_end;) {
            int64_t unit = e % units, count = min64(min64(units - unit, tile_end - e), SEGMENT);
            const float *s = scale + unit, *b = bias + unit, *zs = z + (e - tile);
            float *hs = h + e;
            load_segment(p, p_bf16, e, count, buf);
            for (int64_t i = 0; i < count; ++i) {
                float value = buf[i] * s[i] + b[i];
                hs[i] = value > 0.0f ? value : 0.0f;
            }
            if (a != NULL) {
                if (noisy)
                    for (int64_t i = 0; i < count; ++i)
                        buf[i] = hs[i] + std * zs[i];
                else
                    memcpy(buf, hs, (size_t)count * sizeof(float));
                store_segment(a, a_bf16, e, count, buf);
            }
            e += count;
        }
    }
}

void igan_scale_bias_relu_noise(
    const void *p, int p_bf16, const float *scale, const float *bias, int64_t rows, int64_t units,
    float *h, void *a, int a_bf16, float std, uint64_t key, uint32_t stream)
{
    #pragma omp parallel if (rows * units >= PARALLEL_MIN)
    {
        int64_t first, last;
        share(tiles_of(rows * units), &first, &last);
        scale_bias_relu_noise_tiles(p, p_bf16, scale, bias, rows, units, h, a, a_bf16, std, key, stream, first, last);
    }
}

/* this thread's units [*begin, *end) of a unit-wise kernel: whole blocks of UNIT_BLOCK units */
static inline void share_units(int64_t units, int64_t *begin, int64_t *end)
{
    int64_t first, last;
    share((units + UNIT_BLOCK - 1) / UNIT_BLOCK, &first, &last);
    *begin = first * UNIT_BLOCK;
    *end = min64(last * UNIT_BLOCK, units);
}

enum { ACTIVATION_NONE = 0, ACTIVATION_RELU = 1, ACTIVATION_SIGMOID = 2 };

/*
 * Backward epilogue of a weight-normalised layer y = act(p * scale + bias):
 *   delta = grad * act'                  (relu: [out > 0]; sigmoid: out (1 - out); none: 1)
 *   dp = delta * scale                   the products' gradient, [rows, units]
 *   grad_bias[u] = sum_rows delta        grad_scale[u] = sum_rows delta * p    (both or neither: NULL)
 * `out` is the activation's output (float32; unused for none).
 */
static void dense_backward_units(
    const void *grad, int grad_bf16, const float *out, int activation, const void *p, int p_bf16,
    const float *scale, int64_t rows, int64_t units, void *dp, int dp_bf16, float *grad_bias, float *grad_scale,
    int64_t unit_begin, int64_t unit_end)
{
    float delta[SEGMENT], buf[SEGMENT];
    for (int64_t u0 = unit_begin; u0 < unit_end; u0 += SEGMENT) {
        int64_t width = min64(SEGMENT, unit_end - u0);
        const float *s = scale + u0;
        if (grad_bias != NULL)
            for (int64_t j = 0; j < width; ++j)
                grad_bias[u0 + j] = grad_scale[u0 + j] = 0.0f;
        for (int64_t row = 0; row < rows; ++row) {
            int64_t e = row * units + u0;
            const float *y = out + e;
            load_segment(grad, grad_bf16, e, width, delta);
            if (activation == ACTIVATION_RELU)
                for (int64_t j = 0; j < width; ++j)
                    delta[j] = y[j] > 0.0f ? delta[j] : 0.0f;
            else if (activation == ACTIVATION_SIGMOID)
                for (int64_t j = 0; j < width; ++j)
                    delta[j] *= y[j] * (1.0f - y[j]);
            for (int64_t j = 0; j < width; ++j)
                buf[j] = delta[j] * s[j];
            store_segment(dp, dp_bf16, e, width, buf);
            if (grad_bias != NULL) {
                load_segment(p, p_bf16, e, width, buf);
                for (int64_t j = 0; j < width; ++j) {
                    grad_bias[u0 + j] += delta[j];
                    grad_scale[u0 + j] += delta[j] * buf[j];
                }
            }
        }
    }
}

void igan_dense_backward(
    const void *grad, int grad_bf16, const float *out, int activation, const void *p, int p_bf16,
    const float *scale, int64_t rows, int64_t units, void *dp, int dp_bf16, float *grad_bias, float *grad_scale)
{
    #pragma omp parallel if (rows * units >= PARALLEL_MIN)
    {
        int64_t begin, end;
        share_units(units, &begin, &end);
        dense_backward_units(grad, grad_bf16, out, activation, p, p_bf16, scale, rows, units, dp, dp_bf16,
                             grad_bias, grad_scale, begin, end);
    }
}

/* ==== the generator's blocks: batch statistics, bias, softplus ====================== */

/*
 * Forward: per unit, the batch mean and biased variance of q over the rows, then
 *   q_hat = (q - mean) * inv_std,  inv_std = 1 / sqrt(var + eps)
 *   y = q_hat + bias,  u = softplus(y) (= y above 20, as torch's),  slope = sigmoid(y) = softplus'(y)
 * Writes q_hat, slope (float32 [rows, units]), inv_std [units] and u (the next product's input).
 */
static void batch_norm_softplus_units(
    const void *q, int q_bf16, const float *bias, int64_t rows, int64_t units, float eps,
    float *q_hat, float *slope, float *inv_std, void *u_out, int u_bf16, int64_t unit_begin, int64_t unit_end)
{
    float mean[SEGMENT], var[SEGMENT], buf[SEGMENT];
    for (int64_t u0 = unit_begin; u0 < unit_end; u0 += SEGMENT) {
        int64_t width = min64(SEGMENT, unit_end - u0);
        const float *b = bias + u0;
        float *is = inv_std + u0;
        for (int64_t j = 0; j < width; ++j)
            mean[j] = var[j] = 0.0f;
        for (int64_t row = 0; row < rows; ++row) {
            load_segment(q, q_bf16, row * units + u0, width, buf);
            for (int64_t j = 0; j < width; ++j)
                mean[j] += buf[j];
        }
        for (int64_t j = 0; j < width; ++j)
            mean[j] /= (float)rows;
        for (int64_t row = 0; row < rows; ++row) {
            load_segment(q, q_bf16, row * units + u0, width, buf);
            for (int64_t j = 0; j < width; ++j)
                var[j] += (buf[j] - mean[j]) * (buf[j] - mean[j]);
        }
        for (int64_t j = 0; j < width; ++j)
            is[j] = 1.0f / __builtin_sqrtf(var[j] / (float)rows + eps);
        for (int64_t row = 0; row < rows; ++row) {
            int64_t e = row * units + u0;
            float *qh = q_hat + e, *sl = slope + e;
            load_segment(q, q_bf16, e, width, buf);
            for (int64_t j = 0; j < width; ++j) {
                float normalised = (buf[j] - mean[j]) * is[j], y = normalised + b[j];
                float t = exp_nonpositive(-__builtin_fabsf(y));                       /* e^-|y| */
                qh[j] = normalised;
                sl[j] = (y >= 0.0f ? 1.0f : t) / (1.0f + t);
                buf[j] = y > 20.0f ? y : (y > 0.0f ? y : 0.0f) + log1p_unit(t);
            }
            store_segment(u_out, u_bf16, e, width, buf);
        }
    }
}

void igan_batch_norm_softplus(
    const void *q, int q_bf16, const float *bias, int64_t rows, int64_t units, float eps,
    float *q_hat, float *slope, float *inv_std, void *u_out, int u_bf16)
{
    #pragma omp parallel if (rows * units >= PARALLEL_MIN)
    {
        int64_t begin, end;
        share_units(units, &begin, &end);
        batch_norm_softplus_units(q, q_bf16, bias, rows, units, eps, q_hat, slope, inv_std, u_out, u_bf16, begin, end);
    }
}

/*
 * Backward: gamma = grad_u * slope (through the softplus), then through the batch statistics
 *   grad_q = (gamma - mean(gamma) - q_hat * mean(gamma * q_hat)) * inv_std,   grad_bias = sum(gamma)
 * (means and sums over the rows).
 */
static void batch_norm_softplus_backward_units(
    const void *grad_u, int g_bf16, const float *slope, const float *q_hat, const float *inv_std,
    int64_t rows, int64_t units, void *grad_q, int gq_bf16, float *grad_bias, int64_t unit_begin, int64_t unit_end)
{
    float sum_g[SEGMENT], sum_gq[SEGMENT], buf[SEGMENT];
    for (int64_t u0 = unit_begin; u0 < unit_end; u0 += SEGMENT) {
        int64_t width = min64(SEGMENT, unit_end - u0);
        const float *is = inv_std + u0;
        for (int64_t j = 0; j < width; ++j)
            sum_g[j] = sum_gq[j] = 0.0f;
        for (int64_t row = 0; row < rows; ++row) {
            int64_t e = row * units + u0;
            const float *sl = slope + e, *qh = q_hat + e;
            load_segment(grad_u, g_bf16, e, width, buf);
            for (int64_t j = 0; j < width; ++j) {
                float gamma = buf[j] * sl[j];
                sum_g[j] += gamma;
                sum_gq[j] += gamma * qh[j];
            }
        }
        for (int64_t j = 0; j < width; ++j) {
            grad_bias[u0 + j] = sum_g[j];
            sum_g[j] /= (float)rows;
            sum_gq[j] /= (float)rows;
        }
        for (int64_t row = 0; row < rows; ++row) {
            int64_t e = row * units + u0;
            const float *sl = slope + e, *qh = q_hat + e;
            load_segment(grad_u, g_bf16, e, width, buf);
            for (int64_t j = 0; j < width; ++j)
                buf[j] = (buf[j] * sl[j] - sum_g[j] - qh[j] * sum_gq[j]) * is[j];
            store_segment(grad_q, gq_bf16, e, width, buf);
        }
    }
}

void igan_batch_norm_softplus_backward(
    const void *grad_u, int g_bf16, const float *slope, const float *q_hat, const float *inv_std,
    int64_t rows, int64_t units, void *grad_q, int gq_bf16, float *grad_bias)
{
    #pragma omp parallel if (rows * units >= PARALLEL_MIN)
    {
        int64_t begin, end;
        share_units(units, &begin, &end);
        batch_norm_softplus_backward_units(grad_u, g_bf16, slope, q_hat, inv_std, rows, units, grad_q, gq_bf16,
                                           grad_bias, begin, end);
    }
}

/* ==== Adam ======================================================================= */

/* The hyperparameters of one fused Adam step (see igan_adam). */
struct igan_adam_scalars {
    float neg_step_size;          /* -lr / (1 - beta1^t) */
    float beta1, beta2, eps;
    float bias_correction2;       /* 1 - beta2^t */
    float bias_correction2_sqrt;
    int32_t eps_inside_root;
    float average_rate;           /* the running averages' rate lambda_t (see igan_adam_tensor.average) */
};

/* One parameter of a fused Adam step (see igan_adam); NULL pointers: not wanted. */
struct igan_adam_tensor {
    float *param;            /* [rows, cols] float32, updated in place */
    const void *matrix;      /* the gradient's matrix term, float32 or bfloat16 */
    const float *coef;       /* [rows]: grad = matrix + coef[row] * param; NULL: grad = matrix */
    float *exp_avg;          /* Adam's state, float32 */
    float *exp_avg_sq;
    void *copy;              /* the new param in the compute dtype */
    float *sumsq;            /* [rows]: sum over each row of the new param squared */
    float *average;          /* the param's running average, float32: average = lerp(average, new param, rate) */
    int64_t rows, cols;
    int32_t matrix_bf16, copy_bf16;
};

/* The sum of squares of a row: per-lane partial sums over SEGMENT-wide segments (so that the loop
 * vectorises), then a tree of vector adds. Adam's update and igan_row_sumsq add in this same order,
 * so a parameter's norms come out the same whichever computed them (exact resumption). */
static inline void add_squares(float squares[SEGMENT], const float *x, int64_t width)
{
    for (int64_t j = 0; j < width; ++j)
        squares[j] += x[j] * x[j];
}

static inline float total_of_squares(float squares[SEGMENT])
{
    for (int width = SEGMENT / 2; width > 0; width /= 2)
        for (int j = 0; j < width; ++j)
            squares[j] += squares[j + width];
    return squares[0];
}

/* out[row] = sum of x[row, :]^2 for each row of x [rows, cols] */
void igan_row_sumsq(const float *x, int64_t rows, int64_t cols, float *out)
{
    #pragma omp parallel if (rows * cols >= PARALLEL_MIN)
    {
        int64_t first, last;
        float squares[SEGMENT];
        share(rows, &first, &last);
        for (int64_t row = first; row < last; ++row) {
            memset(squares, 0, sizeof squares);
            for (int64_t c0 = 0; c0 < cols; c0 += SEGMENT)
                add_squares(squares, x + row * cols + c0, min64(SEGMENT, cols - c0));
            out[row] = total_of_squares(squares);
        }
    }
}

static void adam_row(const struct igan_adam_tensor *t, int64_t row, const struct igan_adam_scalars *s)
{
    float g[SEGMENT], squares[SEGMENT];
    memset(squares, 0, sizeof squares);
    for (int64_t c0 = 0; c0 < t->cols; c0 += SEGMENT) {
        int64_t width = min64(SEGMENT, t->cols - c0), e = row * t->cols + c0;
        float *p = t->param + e, *m = t->exp_avg + e, *v = t->exp_avg_sq + e;
        load_segment(t->matrix, t->matrix_bf16, e, width, g);
        if (t->coef != NULL)
            for (int64_t j = 0; j < width; ++j)
                g[j] += t->coef[row] * p[j];
        for (int64_t j = 0; j < width; ++j) {
            m[j] = s->beta1 > 0.5f ? m[j] + (1.0f - s->beta1) * (g[j] - m[j])   /* torch.lerp_(m, g, 1 - beta1) */
                                   : g[j] - (g[j] - m[j]) * s->beta1;
            v[j] = v[j] * s->beta2 + (1.0f - s->beta2) * g[j] * g[j];
            float denom = s->eps_inside_root ? __builtin_sqrtf(v[j] / s->bias_correction2 + s->eps)
                                             : __builtin_sqrtf(v[j]) / s->bias_correction2_sqrt + s->eps;
            p[j] += s->neg_step_size * (m[j] / denom);
        }
        if (t->average != NULL) {
            /* torch.lerp's formula (what ExponentialMovingAverage.update runs), a rate of 1 copies exactly */
            float *a = t->average + e, w = s->average_rate;
            for (int64_t j = 0; j < width; ++j)
                a[j] = w < 0.5f ? a[j] + w * (p[j] - a[j]) : p[j] - (p[j] - a[j]) * (1.0f - w);
        }
        add_squares(squares, p, width);
        if (t->copy != NULL)
            store_segment(t->copy, t->copy_bf16, e, width, p);
    }
    if (t->sumsq != NULL)
        t->sumsq[row] = total_of_squares(squares);
}

/*
 * One Adam step on `count` parameters at once, whose gradients come factored the way weight
 * norm's backward produces them (grad = matrix + coef[row] * param):
 *   exp_avg = lerp(exp_avg, grad, 1 - beta1);  exp_avg_sq = beta2 exp_avg_sq + (1 - beta2) grad^2
 *   param -= step_size * exp_avg / denom,  step_size = lr / (1 - beta1^t), and
 *   denom = sqrt(exp_avg_sq / (1 - beta2^t) + eps)          (the authors' Adam: eps inside the root)
 *   denom = sqrt(exp_avg_sq) / sqrt(1 - beta2^t) + eps       (torch.optim.Adam)
 * then, from the new param, its compute copy, its rows' sums of squares and (where wanted) its
 * running average: average = lerp(average, param, average_rate).
 * The work items are the rows of all parameters, one parameter after the other.
 */
void igan_adam(const struct igan_adam_tensor *tensors, int64_t count, const struct igan_adam_scalars *scalars)
{
    int64_t rows = 0, values = 0;
    for (int64_t i = 0; i < count; ++i) {
        rows += tensors[i].rows;
        values += tensors[i].rows * tensors[i].cols;
    }
    #pragma omp parallel if (values >= PARALLEL_MIN)
    {
        int64_t row_begin, row_end, first = 0;
        share(rows, &row_begin, &row_end);
        for (int64_t i = 0; i < count; ++i) {
            const struct igan_adam_tensor *t = tensors + i;
            int64_t lo = row_begin > first ? row_begin - first : 0, hi = min64(row_end - first, t->rows);
            for (int64_t row = lo; row < hi; ++row)
                adam_row(t, row, scalars);
            first += t->rows;
        }
    }
}
