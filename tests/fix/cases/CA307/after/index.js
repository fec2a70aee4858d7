require('bullmq');
