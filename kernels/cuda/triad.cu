// STREAM's triad a = b + s*c over f32 arrays, with 16-byte (float4) accesses in a
// grid-stride loop; the last n % 4 elements, and misaligned arrays, go one by one.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

extern "C" __global__ void orac_triad(const float *__restrict__ b, const float *__restrict__ c,
                                      float *__restrict__ a, float s, unsigned long long n) {
    const unsigned long long tid = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    const bool aligned = ((reinterpret_cast<unsigned long long>(a) |
                           reinterpret_cast<unsigned long long>(b) |
                           reinterpret_cast<unsigned long long>(c)) & 15) == 0;
    const unsigned long long quads = aligned ? n / 4 : 0;
    const float4 *b4 = reinterpret_cast<const float4 *>(b);
    const float4 *c4 = reinterpret_cast<const float4 *>(c);
    float4 *a4 = reinterpret_cast<float4 *>(a);
    for (unsigned long long i = tid; i < quads; i += stride) {
        const float4 x = b4[i], y = c4[i];
        a4[i] = make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
    }
    for (unsigned long long i = quads * 4 + tid; i < n; i += stride) a[i] = b[i] + s * c[i];
}
