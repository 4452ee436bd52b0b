/*
 * LD_PRELOAD shim that makes Debian bookworm's SyncEvolution 2.0.0 (libsyncevolution0
 * 2.0.0-3+b1) usable as an HTTP SyncML client; built by test/support/syncevolution.ts.
 *
 * Why: the binary's CurlTransportAgent constructor calls
 *   curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, <nothing>)   and the same for READFUNCTION,
 * i.e. the callback argument is whatever happens to be in the register: NULL in practice.
 * libcurl treats a NULL callback as "use fwrite/fread" and hands them the WRITEDATA/READDATA
 * pointer, which SyncEvolution set to the CurlTransportAgent object, not a FILE*: the first
 * POST dies with SIGSEGV inside fread().
 *
 * Fix: intercept curl_easy_setopt(); when one of these two callbacks is set to NULL, install a
 * small C trampoline instead that calls the agent's own (exported) member functions
 *   size_t SyncEvo::CurlTransportAgent::writeData(void *buffer, size_t size)
 *   size_t SyncEvo::CurlTransportAgent::readData(void *buffer, size_t size)
 * with the object pointer libcurl passes as userdata.  Every other option passes through.
 *
 * Build: gcc -shared -fPIC -O2 -o curl-preload.so curl-preload.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Numeric values from curl.h (CURLOPTTYPE_FUNCTIONPOINT 20000 + n), so no curl headers are needed. */
enum { SHIM_OPT_WRITEFUNCTION = 20011, SHIM_OPT_READFUNCTION = 20012 };

typedef int shim_curlcode;
typedef shim_curlcode (*setopt_fn)(void *handle, int option, ...);
/* A non-virtual C++ member function is called like a plain function with `this` first. */
typedef size_t (*agent_io_fn)(void *self, void *buffer, size_t size);

static setopt_fn real_setopt;
static agent_io_fn agent_write, agent_read;

static void resolve(void)
{
    if (!real_setopt)
        real_setopt = (setopt_fn)dlsym(RTLD_NEXT, "curl_easy_setopt");
    if (!agent_write)
        agent_write = (agent_io_fn)dlsym(RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm");
    if (!agent_read)
        agent_read = (agent_io_fn)dlsym(RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent8readDataEPvm");
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    if (!agent_write) {
        fputs("curl-preload: CurlTransportAgent::writeData not found\n", stderr);
        return 0; /* makes libcurl fail the transfer instead of crashing */
    }
    return agent_write(userdata, ptr, size * nmemb);
}

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    if (!agent_read) {
        fputs("curl-preload: CurlTransportAgent::readData not found\n", stderr);
        return 0x10000000; /* CURL_READFUNC_ABORT */
    }
    return agent_read(userdata, ptr, size * nmemb);
}

shim_curlcode curl_easy_setopt(void *handle, int option, ...)
{
    va_list ap;
    void *value;

    resolve();
    /* All options take exactly one pointer-sized argument (long, pointer, curl_off_t on LP64). */
    va_start(ap, option);
    value = va_arg(ap, void *);
    va_end(ap);

    if (value == NULL && option == SHIM_OPT_WRITEFUNCTION)
        value = (void *)on_write;
    else if (value == NULL && option == SHIM_OPT_READFUNCTION)
        value = (void *)on_read;
    return real_setopt(handle, option, value);
}
