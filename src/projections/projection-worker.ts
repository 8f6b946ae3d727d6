/** The projection runner's worker thread: see worker-job.ts. */
import { runBackgroundJob } from '../background/job.ts';
import { startProjectionJob } from './worker-job.ts';

runBackgroundJob(startProjectionJob);
