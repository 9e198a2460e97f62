// dst[i] = src[i] over n 32-bit words with a grid-stride loop.
extern "C" __global__ void grid_stride_copy(const unsigned *src, unsigned *dst,
                                            unsigned long long n) {
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)gridDim.x * blockDim.x) {
        dst[i] = src[i];
    }
}
