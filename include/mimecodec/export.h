/* mimecodec/export.h: symbol visibility for the installed libraries.
 * The libraries are built with -fvisibility=hidden; only declarations marked
 * MC_API are exported from the shared object. */
#ifndef MIMECODEC_EXPORT_H
#define MIMECODEC_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define MC_API        __attribute__((visibility("default")))
#define MC_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MC_API
#define MC_MUST_CHECK
#endif

#endif
