//! CI integration: GitHub Actions workflow commands, outputs and job summary;
//! GitLab dotenv reports; JSON for Jenkins and scripts.
