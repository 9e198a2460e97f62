// Sum of n floats: each block reduces its grid-stride share in shared memory with
// __syncthreads(), the last warp finishes with __shfl_xor_sync, thread 0 writes the block's
// partial sum to out[blockIdx.x]. blockDim.x must be 256.
extern "C" __global__ void reduce(const float *in, float *out, int n) {
    __shared__ float s[256];
    float v = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        v += in[i];
    }
    s[threadIdx.x] = v;
    __syncthreads();
    for (int stride = 128; stride >= 32; stride /= 2) {
        if (threadIdx.x < stride) {
            s[threadIdx.x] += s[threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x < 32) {
        v = s[threadIdx.x];
        for (int off = 16; off > 0; off /= 2) {
            v += __shfl_xor_sync(0xffffffffu, v, off);
        }
        if (threadIdx.x == 0) {
            out[blockIdx.x] = v;
        }
    }
}
