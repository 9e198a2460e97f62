// Device-to-device copy with 16-byte vector accesses, one thread per 16 bytes and no loop
// (the grid covers the buffer): against copy-vec, it shows what the grid-stride loop's
// fewer, longer-lived blocks gain or lose. The last n % 16 bytes, and misaligned buffers, go
// byte by byte.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

extern "C" __global__ void orac_copy_vec_flat(const unsigned char *__restrict__ src,
                                              unsigned char *__restrict__ dst,
                                              unsigned long long n) {
    const unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    const bool aligned = ((reinterpret_cast<unsigned long long>(src) |
                           reinterpret_cast<unsigned long long>(dst)) & 15) == 0;
    if (aligned) {
        const unsigned long long words = n / 16;
        if (i < words) {
            reinterpret_cast<uint4 *>(dst)[i] = reinterpret_cast<const uint4 *>(src)[i];
        } else if (i == words) {
            for (unsigned long long b = words * 16; b < n; ++b) dst[b] = src[b];
        }
    } else {
        for (unsigned long long b = i * 16; b < n && b < i * 16 + 16; ++b) dst[b] = src[b];
    }
}
