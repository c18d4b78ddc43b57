// The aspect kinds, one unit each (internal to aspects/; use aspects/aspect.h).
#pragma once

#include "aspects/aspect.h"

namespace mixer::aspects {

const Aspect& checknothingAspect();
const Aspect& listentryAspect();
const Aspect& quotaAspect();
const Aspect& metricAspect();
const Aspect& logentryAspect();
const Aspect& tracespanAspect();
const Aspect& reportnothingAspect();
const Aspect& edgeAspect();
const Aspect& authorizationAspect();
const Aspect& apikeyAspect();
const Aspect& kubernetesAspect();

}  // namespace mixer::aspects
