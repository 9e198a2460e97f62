// Tensor-core GEMM with wgmma.mma_async (Hopper, sm_90a; bf16 inputs, f32 accumulate), tier 6.
//
// A 128x256 block tile of C per two warpgroups (256 threads): warpgroup g owns rows 64g..64g+63
// and all 256 columns, so each issues m64n256k16 wgmmas reading both operands straight from
// shared memory through matrix descriptors (no ldmatrix, no register fragments of A or B);
// its 64x256 f32 accumulator is 128 registers per thread. K advances in slices of 64 through
// 4 shared-memory buffers of 48 KiB (A 128x64, B 64x256): 192 KiB, plus 1 KiB of slack to
// align the tiles to 1024 bytes, 197632 bytes of dynamic shared memory, one block per SM.
//
// Staging. The op passes plain pointers, so there are no TMA tensor maps: every thread copies
// 16-byte chunks with cp.async (zero-filled past the edges, src-size 0) straight into the
// 128-byte-swizzle layout wgmma reads: a 16-byte chunk c of a 128-byte row r of a 1024-byte
// aligned atom is stored at chunk c ^ (r % 8), the pattern the hardware applies to bits [4,7)
// of the address from bits [7,10). A chunk is taken by the vector path when its operand's rows
// are a multiple of 8 elements (K for A, N for B) and the pointer is 16-byte aligned; otherwise
// the same chunk is assembled from guarded scalar loads (zero past the edges) and stored with
// one st.shared.v4: slow, but any M, N, K works (e.g. K = 1001, where rows of A are not
// 16-byte aligned).
//
// A (M x K, K contiguous) is K-major, wgmma's native layout (imm-trans-a = 0): the 128x64 tile
// is 128 rows of 128 bytes. Descriptor: start = tile + 8192*g (the warpgroup's 64 rows) +
// 32*kk for the kk-th 16-wide K step (inside the 128-byte swizzle row; the hardware swizzles
// the final address, so this stays consistent with how the chunks were stored), LBO = 16
// (encoded 1: unused for swizzled K-major layouts), SBO = 1024 (8 rows x 128 B to the next
// 8-row group), base offset 0 (every atom starts on a 1024-byte boundary), swizzle mode 1
// (128B) in bits 62-63.
//
// B (K x N, N contiguous) is N-major. It is used as is with imm-trans-b = 1 rather than
// transposed while staging: a transpose would break the 16-byte cp.async chunks into scalar
// shared stores, and the N-major 128B-swizzle layout is exactly a row-major copy of 64-wide
// column panels. The 64x256 tile is stored as 4 panels of 64 columns (128 bytes), panel j at
// j*8192 holding the 64 K-rows of 128 bytes. In the PTX ISA canonical MN-major 128B layout,
// ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)) with T = 8 bf16, LBO is the stride between 64-wide
// MN blocks and SBO the stride between 8-row K groups: LBO = 8192, SBO = 1024, swizzle 1,
// base offset 0; the kk-th K step starts 16 rows (2048 bytes, whole atoms) further on.
//
// Pipeline per K slice kt: wait for this thread's copies of slice kt (cp.async.wait_group 1),
// fence.proxy.async (wgmma reads through the async proxy; st.shared certainly writes through
// the generic proxy, and cp.async is fenced the same way to be safe), __syncthreads; then
// wgmma.fence, 4 wgmmas, commit; then issue the copies of slice kt+2 into the buffer of
// slice kt-2; then wgmma.wait_group 1, which leaves slice kt's wgmmas running across the next
// barrier and guarantees slice kt-1's are done. The buffer refilled in iteration kt was last
// read by slice kt-2's wgmmas, which every thread waited for in iteration kt-1, before this
// iteration's barrier. So 2 slices are in flight ahead of the one computed, and one more is
// still being read.
//
// Blocks are mapped to tiles in groups of 8 M-tiles (all N-tiles of a group before the next
// group) so the blocks resident at once share their A rows and B columns in L2. The epilogue
// writes the accumulators straight from registers (float2 where N is even): the fragment of
// m64nNk16 puts element i of a thread at row 16*warp + lane/4 + 8*((i/2)%2) and column
// 8*(i/4) + 2*(lane%4) + i%2 of the warpgroup's 64xN tile.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

#include <cuda_bf16.h>

#define BM 128
#define BN 256
#define BK 64
#define STAGES 4
#define THREADS 256
#define GROUP_M 8
#define A_TILE_BYTES (BM * BK * 2)                   // 16384
#define B_TILE_BYTES (BK * BN * 2)                   // 32768
#define STAGE_BYTES (A_TILE_BYTES + B_TILE_BYTES)    // 49152, a multiple of 1024
#define B_PANEL_BYTES (BK * 128)                     // one 64-column panel of B: 8192
#define SMEM_BYTES (STAGES * STAGE_BYTES + 1024)     // 197632 (the manifest's number)

__device__ __forceinline__ unsigned smem_addr(const void *p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(unsigned dst, const void *src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
                 "l"(__cvta_generic_to_global(src)), "r"(valid ? 16 : 0)
                 : "memory");
}

__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}

template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void st_shared_v4(unsigned addr, const unsigned (&v)[4]) {
    asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(v[0]), "r"(v[1]),
                 "r"(v[2]), "r"(v[3])
                 : "memory");
}

// Orders this thread's prior generic-proxy shared-memory writes before later async-proxy
// accesses (wgmma operand reads), once a barrier has made them everyone's.
__device__ __forceinline__ void fence_proxy_async() {
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

__device__ __forceinline__ void wgmma_fence() {
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}

__device__ __forceinline__ void wgmma_commit() {
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}

template <int N> __device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// Keeps the compiler from moving accumulator reads or writes across the wgmma fences.
__device__ __forceinline__ void fence_accumulators(float (&d)[128]) {
#pragma unroll
    for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// A wgmma shared-memory matrix descriptor with 128-byte swizzling and base offset 0: start
// address, leading and stride byte offsets each as (bytes & 0x3FFFF) >> 4 in bits 0-13, 16-29
// and 32-45; swizzle mode 1 (128B) in bits 62-63.
__device__ __forceinline__ unsigned long long sw128_desc(unsigned addr, unsigned lbo,
                                                         unsigned sbo) {
    return static_cast<unsigned long long>((addr & 0x3FFFF) >> 4) |
           static_cast<unsigned long long>((lbo & 0x3FFFF) >> 4) << 16 |
           static_cast<unsigned long long>((sbo & 0x3FFFF) >> 4) << 32 | 1ull << 62;
}

#define D8(i)                                                                                   \
    "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), \
        "+f"(d[i + 6]), "+f"(d[i + 7])

// D(64x256, f32) += A(64x16, K-major, from desc_a) * B(16x256, N-major, from desc_b).
// Operands after the registers: scale-d = 1 (accumulate), imm-scale-a = imm-scale-b = 1,
// imm-trans-a = 0, imm-trans-b = 1.
__device__ __forceinline__ void wgmma_m64n256k16(float (&d)[128], unsigned long long desc_a,
                                                 unsigned long long desc_b) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
                 "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
                 "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "
                 "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, "
                 "%110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, "
                 "%123, %124, %125, %126, %127}, "
                 "%128, %129, 1, 1, 1, 0, 1;\n"
                 : D8(0), D8(8), D8(16), D8(24), D8(32), D8(40), D8(48), D8(56), D8(64), D8(72),
                   D8(80), D8(88), D8(96), D8(104), D8(112), D8(120)
                 : "l"(desc_a), "l"(desc_b)
                 : "memory");
}

// The whole block's work, for one choice of staging path per operand (AV: A by cp.async,
// BV: B by cp.async). The kernel picks one of four instances up front, so the scalar
// fallbacks cost no registers in the fast path.
template <bool AV, bool BV>
__device__ __forceinline__ void gemm_tile(const __nv_bfloat16 *__restrict__ A,
                                          const __nv_bfloat16 *__restrict__ B,
                                          float *__restrict__ C, int M, int N, int K, int m0,
                                          int n0, unsigned base) {
    const int tid = threadIdx.x;
    const int wg = tid / 128; // warpgroup: rows 64*wg.. of the block tile
    const unsigned short *Ah = reinterpret_cast<const unsigned short *>(A);
    const unsigned short *Bh = reinterpret_cast<const unsigned short *>(B);

    // Stage the K slice starting at k0 into buffer s. Chunk c of A is row c / 8, 16-byte
    // column c % 8 (8 consecutive threads fill one 128-byte row); chunk c of B is row c / 32,
    // 16-byte column c % 32 (a warp fills one 512-byte row of the tile, which lands in 4
    // panels of 64 columns). The scalar fallbacks are not unrolled: they are slow anyway, and
    // unrolled they would hold too many addresses at once next to the 128 accumulators.
    auto load = [&](int s, int k0) {
        const unsigned sa = base + s * STAGE_BYTES, sb = sa + A_TILE_BYTES;
        auto a_chunk = [&](int c, int &gm, int &gk) {
            const int r = c / 8, ch = c % 8;
            gm = m0 + r;
            gk = k0 + ch * 8;
            return sa + r * 128 + ((ch ^ (r % 8)) << 4);
        };
        auto b_chunk = [&](int c, int &gk, int &gn) {
            const int r = c / 32, nc = c % 32;
            gk = k0 + r;
            gn = n0 + nc * 8;
            return sb + (nc / 8) * B_PANEL_BYTES + r * 128 + (((nc % 8) ^ (r % 8)) << 4);
        };
        if (AV) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                int gm, gk;
                const unsigned dst = a_chunk(tid + i * THREADS, gm, gk);
                const bool ok = gm < M && gk < K;
                cp_async16(dst, ok ? A + (size_t)gm * K + gk : A, ok);
            }
        } else {
#pragma unroll 1
            for (int i = 0; i < 4; ++i) {
                int gm, gk;
                const unsigned dst = a_chunk(tid + i * THREADS, gm, gk);
                unsigned v[4] = {0u, 0u, 0u, 0u};
                if (gm < M) {
                    const unsigned short *row = Ah + (size_t)gm * K;
#pragma unroll
                    for (int e = 0; e < 8; ++e)
                        if (gk + e < K) v[e / 2] |= (unsigned)row[gk + e] << (16 * (e % 2));
                }
                st_shared_v4(dst, v);
            }
        }
        if (BV) {
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                int gk, gn;
                const unsigned dst = b_chunk(tid + i * THREADS, gk, gn);
                const bool ok = gk < K && gn < N;
                cp_async16(dst, ok ? B + (size_t)gk * N + gn : B, ok);
            }
        } else {
#pragma unroll 1
            for (int i = 0; i < 8; ++i) {
                int gk, gn;
                const unsigned dst = b_chunk(tid + i * THREADS, gk, gn);
                unsigned v[4] = {0u, 0u, 0u, 0u};
                if (gk < K) {
                    const unsigned short *row = Bh + (size_t)gk * N;
#pragma unroll
                    for (int e = 0; e < 8; ++e)
                        if (gn + e < N) v[e / 2] |= (unsigned)row[gn + e] << (16 * (e % 2));
                }
                st_shared_v4(dst, v);
            }
        }
    };

    float d[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) d[i] = 0.0f;

    // Descriptors of buffer 0, K step 0; other buffers and steps add (bytes >> 4) to the start
    // address field (addresses stay under 256 KiB, so the 14-bit field never carries over).
    const unsigned long long desc_a0 = sw128_desc(base + wg * (64 * 128), 16, 1024);
    const unsigned long long desc_b0 = sw128_desc(base + A_TILE_BYTES, B_PANEL_BYTES, 1024);

    // At least one slice, even for K = 0 (it is all zeros then): no path reaches the final
    // wgmma.wait_group without passing through the wgmmas.
    const int tiles = max((K + BK - 1) / BK, 1);
#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {
        if (s < tiles) load(s, s * BK);
        cp_async_commit(); // one group per slice, empty or not, keeps the wait count uniform
    }

    int kt = 0;
    do {
        const int s = kt % STAGES;
        cp_async_wait<STAGES - 3>(); // this thread's copies of slice kt have landed
        fence_proxy_async();         // …are visible to the async proxy…
        __syncthreads();             // …and so are everyone's; slice kt-2's buffer is free

        fence_accumulators(d);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
            const unsigned long long da = desc_a0 + ((s * STAGE_BYTES + kk * 32) >> 4);
            const unsigned long long db = desc_b0 + ((s * STAGE_BYTES + kk * 16 * 128) >> 4);
            wgmma_m64n256k16(d, da, db);
        }
        wgmma_commit();
        fence_accumulators(d);

        const int next = kt + STAGES - 2;
        if (next < tiles) load(next % STAGES, next * BK);
        cp_async_commit();

        wgmma_wait<1>(); // slice kt-1's wgmmas are done: its buffer may be refilled next time
        fence_accumulators(d);
    } while (++kt < tiles);
    wgmma_wait<0>();
    fence_accumulators(d);
    cp_async_wait<0>();

    // Epilogue: element i of this thread is at row 16*warp + lane/4 + 8*((i/2)%2), column
    // 8*(i/4) + 2*(lane%4) + i%2 of the warpgroup's 64x256 tile.
    const int warp = (tid % 128) / 32, lane = tid % 32;
    const int row0 = m0 + wg * 64 + warp * 16 + lane / 4;
    const int col0 = n0 + 2 * (lane % 4);
    const bool c_vec = N % 2 == 0 && reinterpret_cast<unsigned long long>(C) % 8 == 0;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int row = row0 + half * 8;
        if (row >= M) continue;
        float *crow = C + (size_t)row * N;
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
            const int col = col0 + j * 8;
            const float v0 = d[4 * j + 2 * half], v1 = d[4 * j + 2 * half + 1];
            if (c_vec && col + 1 < N) {
                *reinterpret_cast<float2 *>(crow + col) = make_float2(v0, v1);
            } else {
                if (col < N) crow[col] = v0;
                if (col + 1 < N) crow[col + 1] = v1;
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(THREADS, 1)
orac_gemm_wgmma(const __nv_bfloat16 *__restrict__ A, const __nv_bfloat16 *__restrict__ B,
                float *__restrict__ C, int M, int N, int K) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    // The swizzle pattern repeats every 1024 bytes and descriptors say it starts at offset 0
    // (base offset 0): round the tiles up to a 1024-byte boundary.
    const unsigned base = (smem_addr(smem_raw) + 1023u) & ~1023u;

    // Grouped tile order: GROUP_M tile rows at a time, all tile columns of a group first.
    const int tiles_n = gridDim.x, tiles_m = gridDim.y;
    const int linear = blockIdx.y * tiles_n + blockIdx.x;
    const int group = linear / (GROUP_M * tiles_n);
    const int first_m = group * GROUP_M;
    const int group_rows = min(tiles_m - first_m, GROUP_M);
    const int in_group = linear - group * GROUP_M * tiles_n;
    const int m0 = (first_m + in_group % group_rows) * BM;
    const int n0 = (in_group / group_rows) * BN;

    // Each operand takes the cp.async path on its own: an odd K (A's rows) need not slow B.
    const bool a_vec = K % 8 == 0 && reinterpret_cast<unsigned long long>(A) % 16 == 0;
    const bool b_vec = N % 8 == 0 && reinterpret_cast<unsigned long long>(B) % 16 == 0;
    if (a_vec && b_vec)
        gemm_tile<true, true>(A, B, C, M, N, K, m0, n0, base);
    else if (b_vec)
        gemm_tile<false, true>(A, B, C, M, N, K, m0, n0, base);
    else if (a_vec)
        gemm_tile<true, false>(A, B, C, M, N, K, m0, n0, base);
    else
        gemm_tile<false, false>(A, B, C, M, N, K, m0, n0, base);
}
