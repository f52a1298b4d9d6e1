/*
 * forward.c — the llama forward pass (SPEC chapter 4, R-NUM-020..045).
 *
 * One token at position p, as llama2.c's run.c computes it (every step an IEEE binary32
 * operation in the order written, no FMA; every sum lane-blocked, R-NUM-010):
 *
 *   x = token_embd[token]                                          (dim)
 *   for each layer:
 *     xb = rmsnorm(x, attn_norm)
 *     q = Wq xb, k = Wk xb, v = Wv xb;  k, v stored at row p of the layer's KV cache
 *     qwen2: q, k, v += their biases; qwen3: rmsnorm of every q and k head (R-NUM-027, 028)
 *     rotate (q[i], q[i+1]) and (k[i], k[i+1]) of every head, i even < rope_dim, by
 *       angle (f32)p * freq_i, freq_i = 1 / base^(i / rope_dim) [/ rope_freqs[i/2]]
 *       [* (1 / linear scale)] (R-NUM-029); qwen2/qwen3: pairs (j, j + rope_dim/2) (R-NUM-026)
 *     per head h (KV head h / (n_heads / n_kv_heads)):
 *       s_t = (q_h . k_t) / sqrt(head_dim), t = 0..p;  a = softmax(s)
 *       xb_h = sum_t a_t v_t                                       (t ascending)
 *     x = x + Wo xb
 *     xb = rmsnorm(x, ffn_norm)
 *     h = silu(Wgate xb) * (Wup xb);  x = x + Wdown h
 *   logits = Woutput rmsnorm(x, output_norm)
 *
 * The context owns every buffer (allocated once in ggufref_context_create): forward never
 * allocates. A batch of tokens at consecutive positions (prompt processing) computes exactly
 * the values of running them one by one; it only shares each weight row's memory traffic.
 * On n threads (R-NUM-047) the matrix products are split by rows and the attention by
 * (token, query head); each row and each head is computed whole by one thread, as one
 * thread computes it, so every value is the same for any n.
 */
#include "fault.h"
#include "mathx.h"
#include "model.h"
#include "threads.h"

#include <math.h> /* sqrtf: IEEE correctly rounded, the only libm function used */
#include <stdatomic.h>
#include <string.h>

struct ggufref_context {
    const ggufref_model *model;
    uint32_t n_ctx;
    uint32_t n_filled;    /* positions 0..n_filled-1 hold valid K/V rows */
    gr_pool *pool;        /* threads of the step (NULL: the caller alone) */
    float *workers;       /* (threads - 1, max_in + n_ctx) each worker's scratch: a decoded
                           * weight row, then attention scores (thread_row, thread_att) */
    size_t q_dim;         /* n_heads * head_dim */
    size_t kv_dim;        /* n_kv_heads * head_dim */
    float *block;         /* the one allocation; every pointer below points into it */
    float *x;             /* (MAX_BATCH, dim) residual stream */
    float *xb;            /* (MAX_BATCH, max(dim, q_dim)) normed input, then attention output */
    float *xb2;           /* (MAX_BATCH, dim) */
    float *q;             /* (MAX_BATCH, q_dim) */
    float *hb;            /* (MAX_BATCH, ffn_dim) gate branch, then the FFN hidden state */
    float *hb2;           /* (MAX_BATCH, ffn_dim) up branch */
    float *tmp;           /* (MAX_BATCH, ffn_dim) exponentials of the SiLU */
    float *att;           /* (n_ctx) attention scores of one head (first thread) */
    float *logits;        /* (n_vocab) */
    float *row;           /* (max_in) one decoded weight row (batched matmul, first thread) */
    float *rope_freq;     /* (rope_dim / 2) */
    float *rope_cos;      /* (rope_dim / 2) of the current position */
    float *rope_sin;      /* (rope_dim / 2) */
    float *key_cache;     /* (n_layers, n_ctx, kv_dim) */
    float *value_cache;   /* (n_layers, n_ctx, kv_dim) */
};

/* ===================================================================================== */
/* Kernels                                                                                */
/* ===================================================================================== */

/* o = w * (x / rms(x)) as llama2.c (R-NUM-021): ss = dot(x, x) / n + eps, r = 1 / sqrt(ss),
 * o[j] = w[j] * (r * x[j]). o may equal x. */
static void rmsnorm(float *o, const float *x, const float *w, size_t n, float eps) {
    float ss = gr_dot_f32(x, x, n);
    ss = ss / (float)n;
    ss = ss + eps;
    ss = 1.0f / sqrtf(ss);
    for (size_t j = 0; j < n; j++) o[j] = w[j] * (ss * x[j]);
}

/* In place (R-NUM-023): m = max (first maximum), x = exp(x - m), x = x / lane_sum(x). */
static void softmax(float *x, size_t n) {
    float max = x[0];
    for (size_t i = 1; i < n; i++) {
        if (x[i] > max) max = x[i];
    }
    for (size_t i = 0; i < n; i++) x[i] = x[i] - max;
    gr_expf_inplace(x, n);
    float sum = gr_sum_f32(x, n);
    for (size_t i = 0; i < n; i++) x[i] = x[i] / sum;
}

/* cos and sin of (f32)pos * freq_j for every rotated pair j (R-NUM-022). */
static void rope_angles(ggufref_context *ctx, uint32_t pos) {
    size_t n_pairs = ctx->model->info.rope_dim / 2;
    for (size_t j = 0; j < n_pairs; j++) {
        float val = (float)pos * ctx->rope_freq[j];
        gr_sincosf(val, &ctx->rope_sin[j], &ctx->rope_cos[j]);
    }
}

/* Rotate adjacent pairs (2j, 2j+1), 2j < rope_dim, of each of n_heads heads of vec; NEOX
 * style (R-NUM-026): pairs (j, j + rope_dim/2) instead. */
static void rope_rotate(const ggufref_context *ctx, float *vec, size_t n_heads) {
    const ggufref_model_info *in = &ctx->model->info;
    size_t half = in->rope_dim / 2;
    size_t step = ctx->model->arch.rope_neox ? 1 : 2, other = ctx->model->arch.rope_neox ? half : 1;
    for (size_t h = 0; h < n_heads; h++) {
        float *v = vec + h * in->head_dim;
        for (size_t j = 0; j < half; j++) {
            float *e0 = v + step * j, *e1 = e0 + other;
            float v0 = *e0, v1 = *e1;
            float c = ctx->rope_cos[j], s = ctx->rope_sin[j];
            *e0 = v0 * c - v1 * s;
            *e1 = v0 * s + v1 * c;
        }
    }
}

/* v[i] = v[i] + b[i] (R-NUM-027). */
static void add_bias(float *v, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = v[i] + b[i];
}

/* rmsnorm of each of n_heads heads of vec, in place, with the head_dim weights w (R-NUM-028). */
static void head_norm(float *vec, const float *w, size_t n_heads, size_t head_dim, float eps) {
    for (size_t h = 0; h < n_heads; h++) rmsnorm(vec + h * head_dim, vec + h * head_dim, w, head_dim, eps);
}

/* Attention of query head h of a token at position pos of layer l over positions 0..pos
 * (R-NUM-024), h's KV head h / (n_heads / n_kv_heads):
 *   att[t] = (q_h . k_t) / sqrt(head_dim), t = 0..pos;  att = softmax(att)
 *   out_h = sum_t att[t] v_t                                           (t ascending)
 * q: (q_dim) the token's query; OUT: out (q_dim), only head h's head_dim slice written.
 * att: (pos + 1) scratch of the calling thread. */
static void attention_head(const ggufref_context *ctx, uint32_t l, uint32_t pos, size_t h,
                           const float *q, float *out, float *att) {
    const ggufref_model_info *in = &ctx->model->info;
    size_t hd = in->head_dim, group = in->n_heads / in->n_kv_heads;
    size_t kv_off = (h / group) * hd, n_pos = (size_t)pos + 1;
    const float *kc = ctx->key_cache + (size_t)l * ctx->n_ctx * ctx->kv_dim + kv_off;
    const float *vc = ctx->value_cache + (size_t)l * ctx->n_ctx * ctx->kv_dim + kv_off;
    float scale = sqrtf((float)hd);
    gr_dot_rows(q + h * hd, kc, ctx->kv_dim, n_pos, hd, att);
    for (size_t t = 0; t < n_pos; t++) att[t] = att[t] / scale;
    softmax(att, n_pos);
    gr_weighted_rows(out + h * hd, att, vc, ctx->kv_dim, n_pos, hd);
}

/* ===================================================================================== */
/* Context                                                                                */
/* ===================================================================================== */

/* Carve n floats off *cursor. */
static float *take(float **cursor, size_t n) {
    float *p = *cursor;
    *cursor += n;
    return p;
}

/* Sizes of every buffer, overflow-checked. OUT: sizes[] in the order of the struct fields
 * x..value_cache, *total. */
enum { B_X, B_XB, B_XB2, B_Q, B_HB, B_HB2, B_TMP, B_ATT, B_LOGITS, B_ROW, B_FREQ, B_COS, B_SIN, B_KEY,
       B_VALUE, B_COUNT };

/* Elements of the longest weight row (the width of gr_matmul's decode buffer). */
static size_t max_row(const ggufref_model_info *in) {
    size_t q_dim = (size_t)in->n_heads * in->head_dim;
    size_t wide = q_dim > in->dim ? q_dim : in->dim;
    return in->ffn_dim > wide ? in->ffn_dim : wide;
}

/* Floats of one worker's scratch: a decoded weight row, then the scores of one head. */
static size_t worker_floats(const ggufref_context *ctx) {
    return max_row(&ctx->model->info) + ctx->n_ctx;
}

/* Thread `part`'s decode buffer (max_in) and score buffer (n_ctx) in a step: the context's
 * own for part 0 (the caller), a worker's scratch for the others. */
static float *thread_row(const ggufref_context *ctx, size_t part) {
    return part == 0 ? ctx->row : ctx->workers + (part - 1) * worker_floats(ctx);
}
static float *thread_att(const ggufref_context *ctx, size_t part) {
    return part == 0 ? ctx->att : thread_row(ctx, part) + max_row(&ctx->model->info);
}

static bool buffer_sizes(const ggufref_model_info *in, uint32_t n_ctx, size_t sizes[B_COUNT],
                         size_t *total) {
    size_t B = GGUFREF_MAX_BATCH, q_dim = (size_t)in->n_heads * in->head_dim;
    size_t kv_dim = (size_t)in->n_kv_heads * in->head_dim;
    size_t wide = q_dim > in->dim ? q_dim : in->dim;
    size_t kv;
    if (!gr_mul_size(in->n_layers, n_ctx, &kv) || !gr_mul_size(kv, kv_dim, &kv)) return false;
    sizes[B_X] = B * in->dim;
    sizes[B_XB] = B * wide;
    sizes[B_XB2] = B * in->dim;
    sizes[B_Q] = B * q_dim;
    sizes[B_HB] = B * in->ffn_dim;
    sizes[B_HB2] = B * in->ffn_dim;
    sizes[B_TMP] = B * in->ffn_dim;
    sizes[B_ATT] = n_ctx;
    sizes[B_LOGITS] = in->n_vocab;
    sizes[B_ROW] = max_row(in);
    sizes[B_FREQ] = sizes[B_COS] = sizes[B_SIN] = in->rope_dim / 2;
    sizes[B_KEY] = sizes[B_VALUE] = kv;
    *total = 0;
    for (int i = 0; i < B_COUNT; i++) {
        if (!gr_add_size(*total, sizes[i], total)) return false;
    }
    return gr_mul_size(*total, sizeof(float), &(size_t){0});
}

/* R-POOL-020: the bytes ggufref_context_create(model, n_ctx) allocates, computed without
 * allocating. Same argument rules. */
ggufref_status ggufref_context_bytes(const ggufref_model *model, uint32_t n_ctx, size_t *out) {
    if (out == NULL || model == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = 0;
    if (!model->has_weights) return GGUFREF_ERR_MODEL_NOT_LOADED;
    const ggufref_model_info *in = &model->info;
    if (n_ctx == 0) n_ctx = in->n_ctx_train;
    if (n_ctx > in->n_ctx_train) return GGUFREF_ERR_INVALID_ARGUMENT;
    size_t sizes[B_COUNT], total;
    if (!buffer_sizes(in, n_ctx, sizes, &total)) return GGUFREF_ERR_OUT_OF_MEMORY;
    *out = total * sizeof(float) + sizeof(ggufref_context);
    return GGUFREF_OK;
}

ggufref_status ggufref_context_create(const ggufref_model *model, uint32_t n_ctx,
                                      ggufref_context **out) {
    if (out == NULL || model == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!model->has_weights) return GGUFREF_ERR_MODEL_NOT_LOADED;
    const ggufref_model_info *in = &model->info;
    if (n_ctx == 0) n_ctx = in->n_ctx_train;
    if (n_ctx > in->n_ctx_train) return GGUFREF_ERR_INVALID_ARGUMENT;
    size_t sizes[B_COUNT], total;
    if (!buffer_sizes(in, n_ctx, sizes, &total)) return GGUFREF_ERR_OUT_OF_MEMORY;
    ggufref_context *ctx = gr_calloc(1, sizeof *ctx);
    float *block = ctx ? gr_calloc(total, sizeof(float)) : NULL;
    if (block == NULL) {
        gr_free(ctx);
        return GGUFREF_ERR_OUT_OF_MEMORY;
    }
    ctx->model = model;
    ctx->n_ctx = n_ctx;
    ctx->q_dim = (size_t)in->n_heads * in->head_dim;
    ctx->kv_dim = (size_t)in->n_kv_heads * in->head_dim;
    ctx->block = block;
    float *cur = block;
    float **fields[B_COUNT] = {&ctx->x, &ctx->xb, &ctx->xb2, &ctx->q, &ctx->hb, &ctx->hb2,
                               &ctx->tmp, &ctx->att, &ctx->logits, &ctx->row, &ctx->rope_freq,
                               &ctx->rope_cos, &ctx->rope_sin, &ctx->key_cache,
                               &ctx->value_cache};
    for (int i = 0; i < B_COUNT; i++) *fields[i] = take(&cur, sizes[i]);
    /* R-NUM-022: freq_j = 1 / base^((f32)(2j) / (f32)rope_dim); R-NUM-029: then / factor_j
     * (rope_freqs) and * (1 / scale) (linear scaling) */
    const gr_arch *arch = &model->arch;
    for (size_t j = 0; j < in->rope_dim / 2; j++) {
        float e = (float)(2 * j) / (float)in->rope_dim;
        float f = 1.0f / gr_powf(in->rope_freq_base, e);
        if (arch->rope_freqs != NULL && !gr_fault_break(GR_FAULT_BREAK_ROPE_IGNORE_FACTORS)) {
            f = f / arch->rope_freqs[j];
        }
        if (arch->rope_scale != 1.0f) f = f * (1.0f / arch->rope_scale);
        ctx->rope_freq[j] = f;
    }
    *out = ctx;
    return GGUFREF_OK;
}

void ggufref_context_free(ggufref_context *ctx) {
    if (ctx == NULL) return;
    gr_pool_free(ctx->pool);
    gr_free(ctx->workers);
    gr_free(ctx->block);
    gr_free(ctx);
}

uint32_t ggufref_context_n_ctx(const ggufref_context *ctx) { return ctx ? ctx->n_ctx : 0; }

/* R-NUM-047, R-NUM-048: the new pool is made before the old one goes, so a failure changes
 * nothing. */
ggufref_status ggufref_context_set_threads(ggufref_context *ctx, uint32_t n_threads) {
    if (ctx == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (n_threads == gr_pool_threads(ctx->pool)) return GGUFREF_OK;
    float *workers = NULL;
    if (n_threads > 1 && n_threads <= GGUFREF_MAX_THREADS) {
        workers = gr_calloc((size_t)(n_threads - 1), worker_floats(ctx) * sizeof *workers);
        if (workers == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
    }
    gr_pool *pool;
    ggufref_status st = gr_pool_create(n_threads, &pool);
    if (st != GGUFREF_OK) {
        gr_free(workers);
        return st;
    }
    gr_pool_free(ctx->pool);
    gr_free(ctx->workers);
    ctx->pool = pool;
    ctx->workers = workers;
    return GGUFREF_OK;
}

uint32_t ggufref_context_threads(const ggufref_context *ctx) {
    return ctx ? gr_pool_threads(ctx->pool) : 1;
}

/* ===================================================================================== */
/* Forward                                                                                */
/* ===================================================================================== */

/* Checks shared by forward and forward_batch (R-NUM-040..042). */
static ggufref_status check_request(const ggufref_context *ctx, const int32_t *tokens, size_t n,
                                    uint32_t pos, const float **logits) {
    if (ctx == NULL || tokens == NULL || logits == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (n == 0 || n > GGUFREF_MAX_BATCH) return GGUFREF_ERR_INVALID_ARGUMENT;
    for (size_t b = 0; b < n; b++) {
        if (tokens[b] < 0 || (uint32_t)tokens[b] >= ctx->model->info.n_vocab) {
            return GGUFREF_ERR_INVALID_ARGUMENT;
        }
    }
    if (pos > ctx->n_filled) return GGUFREF_ERR_INVALID_ARGUMENT; /* a gap in the cache */
    if ((uint64_t)pos + n > ctx->n_ctx) return GGUFREF_ERR_CONTEXT_OVERFLOW;
    return GGUFREF_OK;
}

/* Matrix products of one step, split by rows over the context's threads (R-NUM-047): with T
 * threads each product's rows are 2T contiguous ranges, each computed by one thread for every
 * token of the batch; each row's sums are those of one thread. */
typedef struct matmul_job {
    const gr_weight *w;
    const float *x; /* (n, x_stride) */
    size_t x_stride;
    float *y;       /* (n, y_stride) */
    size_t y_stride;
} matmul_job;

typedef struct matmul_jobs {
    const ggufref_context *ctx;
    const matmul_job *jobs;
    size_t n_jobs;
    size_t n;           /* tokens */
    size_t chunks;      /* row ranges per product */
    atomic_size_t next; /* the next (product, range) to take */
} matmul_jobs;

/* The ranges go to whichever thread is free, so a thread the scheduler holds back leaves its
 * share to the others; a row is always computed whole by one thread, so which one does not
 * matter (R-NUM-047). */
static void matmul_part(void *arg, size_t part, size_t n_parts) {
    matmul_jobs *mj = arg;
    const ggufref_context *ctx = mj->ctx;
    float *row = thread_row(ctx, part);
    size_t total = mj->n_jobs * mj->chunks;
    (void)n_parts;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&mj->next, 1, memory_order_relaxed);
        if (i >= total) break;
        const matmul_job *jb = &mj->jobs[i / mj->chunks];
        size_t c = i % mj->chunks, n_out = jb->w->n_out;
        gr_matmul_rows(jb->w, jb->x, jb->x_stride, mj->n, jb->y, jb->y_stride,
                       n_out * c / mj->chunks, n_out * (c + 1) / mj->chunks, row);
    }
}

static void matmuls(ggufref_context *ctx, const matmul_job *jobs, size_t n_jobs, size_t n) {
    size_t threads = gr_pool_threads(ctx->pool);
    matmul_jobs mj = {ctx, jobs, n_jobs, n, threads == 1 ? 1 : 2 * threads, 0};
    atomic_init(&mj.next, 0);
    gr_pool_run(ctx->pool, matmul_part, &mj);
}

/* The attention of a step (R-NUM-047): n tokens x n_heads query heads, each (token, head) an
 * item computed whole by one thread, in its own score buffer, exactly as attention_head
 * computes it alone; items never share an output element, so which thread runs which does
 * not matter. The token of the batch at pos + b attends over pos + b + 1 positions, all in
 * the cache before the step's attention starts. */
typedef struct attention_jobs {
    const ggufref_context *ctx;
    uint32_t l;
    uint32_t pos;       /* position of the batch's first token */
    size_t n;           /* tokens */
    size_t xb_stride;   /* floats between two tokens' rows of xb */
    atomic_size_t next; /* the next item to take */
} attention_jobs;

/* Items go to whichever thread is free, the longest (last token of the batch) first. */
static void attention_part(void *arg, size_t part, size_t n_parts) {
    attention_jobs *aj = arg;
    const ggufref_context *ctx = aj->ctx;
    size_t n_heads = ctx->model->info.n_heads, total = aj->n * n_heads;
    float *att = thread_att(ctx, part);
    (void)n_parts;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&aj->next, 1, memory_order_relaxed);
        if (i >= total) break;
        size_t b = aj->n - 1 - i / n_heads, h = i % n_heads;
        attention_head(ctx, aj->l, aj->pos + (uint32_t)b, h, ctx->q + b * ctx->q_dim,
                       ctx->xb + b * aj->xb_stride, att);
    }
}

/* OUT: xb (n, xb_stride): the attention output of each token's query heads in ctx->q. */
static void attentions(ggufref_context *ctx, uint32_t l, size_t n, uint32_t pos, size_t xb_stride) {
    attention_jobs aj = {ctx, l, pos, n, xb_stride, 0};
    atomic_init(&aj.next, 0);
    gr_pool_run(ctx->pool, attention_part, &aj);
}

/* One layer for n tokens at positions pos..pos+n-1 (x holds their residual streams). */
static void layer_forward(ggufref_context *ctx, uint32_t l, size_t n, uint32_t pos) {
    const ggufref_model_info *in = &ctx->model->info;
    const gr_layer *L = &ctx->model->layers[l];
    size_t dim = in->dim, ffn = in->ffn_dim, xbs = ctx->q_dim > dim ? ctx->q_dim : dim;
    float *kc = ctx->key_cache + ((size_t)l * ctx->n_ctx + pos) * ctx->kv_dim;
    float *vc = ctx->value_cache + ((size_t)l * ctx->n_ctx + pos) * ctx->kv_dim;

    for (size_t b = 0; b < n; b++) {
        rmsnorm(ctx->xb + b * xbs, ctx->x + b * dim, L->attn_norm, dim, in->rms_eps);
    }
    const matmul_job qkv[3] = {{&L->wq, ctx->xb, xbs, ctx->q, ctx->q_dim},
                               {&L->wk, ctx->xb, xbs, kc, ctx->kv_dim},
                               {&L->wv, ctx->xb, xbs, vc, ctx->kv_dim}};
    matmuls(ctx, qkv, 3, n);
    for (size_t b = 0; b < n; b++) {
        float *qb = ctx->q + b * ctx->q_dim, *kb = kc + b * ctx->kv_dim, *vb = vc + b * ctx->kv_dim;
        if (L->bq != NULL) { /* R-NUM-027: biases, then R-NUM-028: head norms, then RoPE */
            add_bias(qb, L->bq, ctx->q_dim);
            add_bias(kb, L->bk, ctx->kv_dim);
            add_bias(vb, L->bv, ctx->kv_dim);
        }
        if (L->q_norm != NULL) {
            head_norm(qb, L->q_norm, in->n_heads, in->head_dim, in->rms_eps);
            head_norm(kb, L->k_norm, in->n_kv_heads, in->head_dim, in->rms_eps);
        }
        rope_angles(ctx, pos + (uint32_t)b);
        rope_rotate(ctx, kb, in->n_kv_heads);
        /* the R-FAULT-007 break (test builds): the query rotated one position ahead */
        if (gr_fault_break(GR_FAULT_BREAK_ROPE_QUERY_AHEAD)) {
            rope_angles(ctx, pos + (uint32_t)b + 1);
        }
        rope_rotate(ctx, qb, in->n_heads);
    }
    attentions(ctx, l, n, pos, xbs);
    matmuls(ctx, &(matmul_job){&L->wo, ctx->xb, xbs, ctx->xb2, dim}, 1, n);
    for (size_t i = 0; i < n * dim; i++) ctx->x[i] = ctx->x[i] + ctx->xb2[i];

    for (size_t b = 0; b < n; b++) {
        rmsnorm(ctx->xb + b * xbs, ctx->x + b * dim, L->ffn_norm, dim, in->rms_eps);
    }
    const matmul_job gate_up[2] = {{&L->w_gate, ctx->xb, xbs, ctx->hb, ffn},
                                   {&L->w_up, ctx->xb, xbs, ctx->hb2, ffn}};
    matmuls(ctx, gate_up, 2, n);
    /* R-NUM-025: SiLU(g) * u, the exponentials first (vectorized), in the tmp buffer */
    for (size_t i = 0; i < n * ffn; i++) ctx->tmp[i] = -ctx->hb[i];
    gr_expf_inplace(ctx->tmp, n * ffn);
    for (size_t i = 0; i < n * ffn; i++) {
        float g = ctx->hb[i];
        g = g * (1.0f / (1.0f + ctx->tmp[i]));
        ctx->hb[i] = g * ctx->hb2[i];
    }
    matmuls(ctx, &(matmul_job){&L->w_down, ctx->hb, ffn, ctx->xb2, dim}, 1, n);
    for (size_t i = 0; i < n * dim; i++) ctx->x[i] = ctx->x[i] + ctx->xb2[i];
}

ggufref_status ggufref_forward_batch(ggufref_context *ctx, const int32_t *tokens, size_t n,
                                     uint32_t pos, const float **logits) {
    ggufref_status st = check_request(ctx, tokens, n, pos, logits);
    if (st != GGUFREF_OK) return st;
    const ggufref_model *m = ctx->model;
    size_t dim = m->info.dim;
    for (size_t b = 0; b < n; b++) gr_weight_row(&m->token_embd, (size_t)tokens[b], ctx->x + b * dim);
    for (uint32_t l = 0; l < m->info.n_layers; l++) layer_forward(ctx, l, n, pos);
    float *last = ctx->x + (n - 1) * dim;
    rmsnorm(last, last, m->output_norm, dim, m->info.rms_eps);
    matmuls(ctx, &(matmul_job){&m->output, last, 0, ctx->logits, 0}, 1, 1);
    ctx->n_filled = pos + (uint32_t)n;
    *logits = ctx->logits;
    return GGUFREF_OK;
}

ggufref_status ggufref_forward(ggufref_context *ctx, int32_t token, uint32_t pos,
                               const float **logits) {
    return ggufref_forward_batch(ctx, &token, 1, pos, logits);
}
