/*
 * wfcompute-sandbox-probe: the conformance check that runs inside a probe container.
 *
 * The host starts this program with --network none, --read-only, its workspace bound
 * on /workspace and WFCOMPUTE_RUNTIME_PROBE=1. The workspace contains exactly one file,
 * .wfcompute-probe-nonce. The program checks each of these promises itself and prints
 * one RuntimeBackendEvidence JSON line on stdout:
 *
 *   {"digest":"sha256:<hex>","workspace":B,"network":B,"env":B,"proof":B,
 *    "cleanup":B,"details":["read-only-rootfs:...", ...]}
 *
 * Exit status: 0 when all five flags are true, 1 when any is false (the line is still
 * printed and each failure is explained on stderr), 2 on an internal error.
 *
 * Built with `gcc -static -Os`. The image contains nothing else, so the program uses only
 * libc and carries its own SHA-256 (FIPS 180-4).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WFCOMPUTE_PROBE_VERSION
#define WFCOMPUTE_PROBE_VERSION "unknown"
#endif

#define WORKSPACE "/workspace"
#define NONCE_PATH WORKSPACE "/.wfcompute-probe-nonce"
#define MAX_NONCE_SIZE 4096
#define MAX_ENTRIES 64
#define RTF_UP 0x0001
#define RTF_REJECT 0x0200

/* ---- SHA-256 ------------------------------------------------------------------ */

struct sha256 {
    uint32_t state[8];
    uint64_t length; /* bytes hashed so far */
    unsigned char block[64];
    size_t used; /* bytes waiting in block */
};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(struct sha256 *h) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(h->state, initial, sizeof initial);
    h->length = 0;
    h->used = 0;
}

static void sha256_compress(uint32_t state[8], const unsigned char block[64]) {
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
               (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, state, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + s1 + ch + K[i] + w[i];
        uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
        uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + s0 + maj;
    }
    for (int i = 0; i < 8; i++)
        state[i] += v[i];
}

static void sha256_update(struct sha256 *h, const unsigned char *data, size_t size) {
    h->length += size;
    while (size > 0) {
        size_t take = 64 - h->used < size ? 64 - h->used : size;
        memcpy(h->block + h->used, data, take);
        h->used += take;
        data += take;
        size -= take;
        if (h->used == 64) {
            sha256_compress(h->state, h->block);
            h->used = 0;
        }
    }
}

/* Pad as FIPS 180-4 section 5.1.1 describes, then write 64 lowercase hex digits plus NUL. */
static void sha256_hex(struct sha256 *h, char out[65]) {
    uint64_t bits = h->length * 8;
    unsigned char pad[72] = {0x80};
    size_t pad_size = (h->used < 56 ? 56 : 120) - h->used;
    for (int i = 0; i < 8; i++)
        pad[pad_size + i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(h, pad, pad_size + 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", h->state[i]);
}

#ifdef WFCOMPUTE_PROBE_SHA256_MAIN
/* Test build: hash stdin and print the hex digest, so tests can compare with hashlib. */
int main(void) {
    struct sha256 h;
    unsigned char buffer[4096];
    size_t got;
    char hex[65];
    sha256_init(&h);
    while ((got = fread(buffer, 1, sizeof buffer, stdin)) > 0)
        sha256_update(&h, buffer, got);
    sha256_hex(&h, hex);
    puts(hex);
    return ferror(stdin) ? 2 : 0;
}
#else

/* ---- checks ------------------------------------------------------------------- */

struct listing {
    int count;
    int complete; /* 0 when the directory could not be read or had too many entries */
    char names[MAX_ENTRIES][256];
};

static void report_failure(const char *check, const char *format, ...) {
    va_list args;
    fprintf(stderr, "wfcompute-sandbox-probe: %s: ", check);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
}

static int compare_names(const void *a, const void *b) { return strcmp(a, b); }

static void list_workspace(struct listing *out) {
    DIR *dir = opendir(WORKSPACE);
    struct dirent *entry;
    out->count = 0;
    out->complete = dir != NULL;
    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (out->count == MAX_ENTRIES) {
            out->complete = 0;
            break;
        }
        snprintf(out->names[out->count++], 256, "%s", entry->d_name);
    }
    closedir(dir);
    qsort(out->names, (size_t)out->count, sizeof out->names[0], compare_names);
}

static int listings_equal(const struct listing *a, const struct listing *b) {
    if (!a->complete || !b->complete || a->count != b->count)
        return 0;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return 0;
    return 1;
}

static int check_env(void) {
    const char *value = getenv("WFCOMPUTE_RUNTIME_PROBE");
    if (value != NULL && strcmp(value, "1") == 0)
        return 1;
    report_failure("env", "WFCOMPUTE_RUNTIME_PROBE is %s%s%s, expected \"1\"",
                   value ? "\"" : "", value ? value : "unset", value ? "\"" : "");
    return 0;
}

/* Hash the nonce file the host placed in the workspace into digest ("sha256:<hex>"). */
static int check_proof(char digest[72]) {
    unsigned char buffer[MAX_NONCE_SIZE + 1];
    struct sha256 h;
    size_t size = 0;
    ssize_t got;
    char hex[65];
    int fd = open(NONCE_PATH, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        report_failure("proof", "open %s: %s", NONCE_PATH, strerror(errno));
        return 0;
    }
    while (size < sizeof buffer &&
           (got = read(fd, buffer + size, sizeof buffer - size)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            report_failure("proof", "read %s: %s", NONCE_PATH, strerror(errno));
            close(fd);
            return 0;
        }
        size += (size_t)got;
    }
    close(fd);
    if (size == 0 || size > MAX_NONCE_SIZE) {
        report_failure("proof", "%s has %zu bytes, expected 1 to %d", NONCE_PATH, size,
                       MAX_NONCE_SIZE);
        return 0;
    }
    sha256_init(&h);
    sha256_update(&h, buffer, size);
    sha256_hex(&h, hex);
    snprintf(digest, 72, "sha256:%s", hex);
    return 1;
}

static int write_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t written = write(fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return 0;
        data += written;
        size -= (size_t)written;
    }
    return 1;
}

static int read_back_matches(const char *path, const char *expected, size_t size) {
    char buffer[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t got;
    if (fd < 0)
        return 0;
    got = read(fd, buffer, sizeof buffer);
    close(fd);
    return got == (ssize_t)size && memcmp(buffer, expected, size) == 0;
}

/* Create, write, read back and remove a file of our own in the workspace. */
static int check_workspace(const char *path) {
    char payload[64];
    int size = snprintf(payload, sizeof payload, "wfcompute probe %ld\n", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int ok;
    if (fd < 0) {
        report_failure("workspace", "create %s: %s", path, strerror(errno));
        return 0;
    }
    ok = write_all(fd, payload, (size_t)size);
    if (!ok)
        report_failure("workspace", "write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && ok) {
        report_failure("workspace", "close %s: %s", path, strerror(errno));
        ok = 0;
    }
    if (ok && !read_back_matches(path, payload, (size_t)size)) {
        report_failure("workspace", "%s did not read back what was written", path);
        ok = 0;
    }
    if (unlink(path) != 0) {
        report_failure("workspace", "remove %s: %s", path, strerror(errno));
        ok = 0;
    }
    return ok;
}

static int check_cleanup(const struct listing *before, const char *test_path) {
    struct listing after;
    struct stat info;
    int ok = 1;
    list_workspace(&after);
    if (!listings_equal(before, &after)) {
        report_failure("cleanup", "the workspace listing changed or could not be read");
        ok = 0;
    }
    if (lstat(test_path, &info) == 0) {
        report_failure("cleanup", "%s is still present", test_path);
        ok = 0;
    } else if (errno != ENOENT) {
        report_failure("cleanup", "cannot check %s: %s", test_path, strerror(errno));
        ok = 0;
    }
    return ok;
}

/* Every interface named in /proc/net/dev must be the loopback "lo". */
static int interfaces_are_loopback_only(void) {
    char line[512];
    int ok = 1, number = 0;
    FILE *file = fopen("/proc/net/dev", "re");
    if (file == NULL) {
        report_failure("network", "open /proc/net/dev: %s", strerror(errno));
        return 0;
    }
    while (fgets(line, sizeof line, file) != NULL) {
        char *colon = strchr(line, ':'), *name = line;
        if (++number <= 2 || colon == NULL)
            continue; /* two header lines */
        *colon = '\0';
        name += strspn(name, " \t");
        if (strcmp(name, "lo") != 0) {
            report_failure("network", "interface %s is present besides lo", name);
            ok = 0;
        }
    }
    fclose(file);
    return ok;
}

/* Look for a usable default route: destination 0, prefix 0, up, and not a reject entry. */
static int has_default_route(const char *path, int ipv6) {
    char line[512], iface[64], destination[40], mask[40];
    unsigned long flags;
    int found = 0, number = 0;
    FILE *file = fopen(path, "re");
    if (file == NULL)
        return errno != ENOENT; /* a kernel without IPv6 has no ipv6_route file */
    while (fgets(line, sizeof line, file) != NULL) {
        int fields;
        if (!ipv6 && ++number == 1)
            continue; /* header line */
        if (ipv6)
            fields = sscanf(line, "%39s %39s %*s %*s %*s %*s %*s %*s %lx %63s", destination,
                            mask, &flags, iface);
        else
            fields = sscanf(line, "%63s %39s %*s %lx %*s %*s %*s %39s", iface, destination,
                            &flags, mask);
        if (fields != 4 || strspn(destination, "0") != strlen(destination) ||
            strspn(mask, "0") != strlen(mask))
            continue;
        if ((flags & RTF_UP) && !(flags & RTF_REJECT)) {
            report_failure("network", "%s has a default route via %s", path, iface);
            found = 1;
        }
    }
    fclose(file);
    return found;
}

static int check_network(void) {
    int ok = interfaces_are_loopback_only();
    if (has_default_route("/proc/net/route", 0))
        ok = 0;
    if (has_default_route("/proc/net/ipv6_route", 1))
        ok = 0;
    return ok;
}

/* 1 when creating PATH fails with EROFS; anything it managed to create is removed. */
static int create_fails_read_only(const char *path, int *writable) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        close(fd);
        unlink(path);
        *writable = 1;
        report_failure("read-only-rootfs", "created %s", path);
        return 0;
    }
    if (errno == EROFS)
        return 1;
    report_failure("read-only-rootfs", "create %s: %s", path, strerror(errno));
    return 0;
}

/* The paths lie outside /tmp, /run and /var/tmp, which podman's --read-only keeps
   writable with tmpfs mounts, so every runtime is held to the same test. */
static const char *check_read_only_rootfs(void) {
    int writable = 0;
    int root = create_fails_read_only("/.wfcompute-probe-rootfs-write", &writable);
    int usr = create_fails_read_only("/usr/.wfcompute-probe-rootfs-write", &writable);
    if (root && usr)
        return "read-only-rootfs:verified";
    return writable ? "read-only-rootfs:writable" : "read-only-rootfs:unverified";
}

/* ---- output ------------------------------------------------------------------- */

/* Write TEXT as a JSON string body, escaping quotes, backslashes and control bytes. */
static void print_json_text(FILE *out, const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f || *c == '<' || *c == '>' || *c == '&')
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
}

static const char *json_bool(int value) { return value ? "true" : "false"; }

int main(void) {
    struct listing before;
    char digest[72] = "", test_path[128], scope_detail[4096] = "";
    int workspace, network, env, proof, cleanup;
    const char *rootfs, *scope = getenv("WFCOMPUTE_RUNTIME_SCOPE");

    snprintf(test_path, sizeof test_path, WORKSPACE "/.wfcompute-probe-test-%ld",
             (long)getpid());
    list_workspace(&before);
    env = check_env();
    proof = check_proof(digest);
    workspace = check_workspace(test_path);
    cleanup = check_cleanup(&before, test_path);
    network = check_network();
    rootfs = check_read_only_rootfs();
    if (scope != NULL)
        snprintf(scope_detail, sizeof scope_detail, "runtime-scope:%s", scope);

    fputs("{", stdout);
    if (digest[0] != '\0')
        printf("\"digest\":\"%s\",", digest);
    printf("\"workspace\":%s,\"network\":%s,\"env\":%s,\"proof\":%s,\"cleanup\":%s,",
           json_bool(workspace), json_bool(network), json_bool(env), json_bool(proof),
           json_bool(cleanup));
    printf("\"details\":[\"%s\",", rootfs);
    if (scope_detail[0] != '\0') {
        fputc('"', stdout);
        print_json_text(stdout, scope_detail);
        fputs("\",", stdout);
    }
    fputs("\"probe-program:", stdout);
    print_json_text(stdout, WFCOMPUTE_PROBE_VERSION);
    fputs("\"]}\n", stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "wfcompute-sandbox-probe: writing the evidence failed: %s\n",
                strerror(errno));
        return 2;
    }
    return workspace && network && env && proof && cleanup ? 0 : 1;
}
#endif
