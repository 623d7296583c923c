/**
 * Maps a partition key to a partition the way the Event Hubs service does: Bob Jenkins' lookup3 `hashlittle2` over
 * the key's UTF-8 bytes (both seeds 0), the two result words XORed and narrowed to a signed 16-bit integer, then
 * |hash % partitionCount|. Matching the service means a key lands on the same partition locally as in Azure; the
 * test vectors come from the service's own implementation (as published with the JS SDK's buffered producer).
 */
export function partitionIndexForKey(partitionKey: string, partitionCount: number): number {
    const { b, c } = hashLittle2(Buffer.from(partitionKey, 'utf8'));
    const hash16 = ((c ^ b) << 16) >> 16;
    return Math.abs(hash16 % partitionCount);
}

function rotate(value: number, bits: number): number {
    return (value << bits) | (value >>> (32 - bits));
}

function hashLittle2(key: Buffer): { b: number; c: number } {
    let a = (0xdeadbeef + key.length) | 0;
    let b = a;
    let c = a;
    let offset = 0;
    let remaining = key.length;
    while (remaining > 12) {
        a = (a + key.readUInt32LE(offset)) | 0;
        b = (b + key.readUInt32LE(offset + 4)) | 0;
        c = (c + key.readUInt32LE(offset + 8)) | 0;
        // mix(a, b, c)
        a = (a - c) | 0;
        a ^= rotate(c, 4);
        c = (c + b) | 0;
        b = (b - a) | 0;
        b ^= rotate(a, 6);
        a = (a + c) | 0;
        c = (c - b) | 0;
        c ^= rotate(b, 8);
        b = (b + a) | 0;
        a = (a - c) | 0;
        a ^= rotate(c, 16);
        c = (c + b) | 0;
        b = (b - a) | 0;
        b ^= rotate(a, 19);
        a = (a + c) | 0;
        c = (c - b) | 0;
        c ^= rotate(b, 4);
        b = (b + a) | 0;
        offset += 12;
        remaining -= 12;
    }
    if (remaining === 0) {
        return { b: b >>> 0, c: c >>> 0 };
    }
    // The last 1..12 bytes, read little-endian into a (bytes 0-3), b (4-7) and c (8-11).
    const words = [0, 0, 0];
    for (let index = 0; index < remaining; index++) {
        const word = index >> 2;
        words[word] = (words[word] ?? 0) + ((key[offset + index] ?? 0) << (8 * (index & 3)));
    }
    a = (a + (words[0] ?? 0)) | 0;
    b = (b + (words[1] ?? 0)) | 0;
    c = (c + (words[2] ?? 0)) | 0;
    // final(a, b, c)
    c ^= b;
    c = (c - rotate(b, 14)) | 0;
    a ^= c;
    a = (a - rotate(c, 11)) | 0;
    b ^= a;
    b = (b - rotate(a, 25)) | 0;
    c ^= b;
    c = (c - rotate(b, 16)) | 0;
    a ^= c;
    a = (a - rotate(c, 4)) | 0;
    b ^= a;
    b = (b - rotate(a, 14)) | 0;
    c ^= b;
    c = (c - rotate(b, 24)) | 0;
    return { b: b >>> 0, c: c >>> 0 };
}
